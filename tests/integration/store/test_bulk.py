"""PostgreSQL batch statements: arrays in, the same rows out as a plain INSERT would give."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from interlock.exceptions import StoreError
from interlock.store import Store, bulk
from interlock.store.schema import audit_log


def test_rows_go_in_whole_and_come_back_the_same(pg_url: str) -> None:
    store = Store(pg_url)
    store.upgrade()
    at = dt.datetime(2026, 11, 26, 12, 30, tzinfo=dt.UTC)
    rows = [
        {
            "at": at,
            "actor": "worker:a",
            "action": "run.succeeded",
            "subject": "s1",
            "details": {"n": 1, "q": 'a "quoted", {braced} text'},
        },
        {
            "at": at,
            "actor": "worker:b",
            "action": "run.succeeded",
            "subject": "s2",
            "details": None,
        },
    ]
    try:
        with store.transaction("bulk insert") as conn:
            ids = bulk.pg_insert(conn, audit_log, rows, returning="id")
            assert len(ids) == 2
            found = conn.execute(
                sa.select(audit_log.c.actor, audit_log.c.details, audit_log.c.at)
                .where(bulk.member_of(audit_log.c.id, ids, conn))
                .order_by(audit_log.c.id)
            ).all()
        assert [tuple(r) for r in found] == [
            ("worker:a", {"n": 1, "q": 'a "quoted", {braced} text'}, at),
            ("worker:b", None, at),
        ]
    finally:
        store.close()


def test_a_value_too_long_for_its_column_is_refused_not_cut(pg_url: str) -> None:
    store = Store(pg_url)
    store.upgrade()
    row = {
        "at": dt.datetime.now(dt.UTC),
        "actor": "x" * 500,
        "action": "a",
        "subject": "s",
        "details": None,
    }
    try:
        with pytest.raises(StoreError), store.transaction("bulk insert") as conn:
            bulk.pg_insert(conn, audit_log, [row])
        with store.transaction("count") as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 0
    finally:
        store.close()
