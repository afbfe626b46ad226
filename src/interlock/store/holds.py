"""Holds: a failure on a business key blocks the flows that depend on it until resolved."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from interlock.store import bulk, journal
from interlock.store.journal import now
from interlock.store.schema import as_dict, holds

ACTIVE = "active"
RELEASED = "released"


def place(
    conn: sa.Connection, key: str, flows: Sequence[str], reason: str, exception_id: int | None
) -> int:
    """Place a hold on ``key`` blocking ``flows``; returns its id."""
    row = conn.execute(
        sa.insert(holds)
        .values(
            key=key,
            flows=sorted(flows),
            reason=reason,
            exception_id=exception_id,
            status=ACTIVE,
            created_at=now(),
        )
        .returning(holds.c.id)
    ).first()
    assert row is not None
    return int(row[0])


def blocking(conn: sa.Connection, keys: Sequence[str], flow: str) -> dict[str, Any] | None:
    """The oldest active hold on any of ``keys`` that blocks ``flow``, or None."""
    if not keys:
        return None
    rows = conn.execute(
        sa.select(holds)
        .where(holds.c.key.in_(list(keys)), holds.c.status == ACTIVE)
        .order_by(holds.c.id)
    )
    for row in rows:
        if flow in row.flows:
            return as_dict(row)
    return None


def release(conn: sa.Connection, hold_id: int, actor: str) -> int:
    """Release a hold; the events parked behind it resume. Returns how many resume."""
    conn.execute(
        sa.update(holds)
        .where(holds.c.id == hold_id, holds.c.status == ACTIVE)
        .values(status=RELEASED, released_at=now(), released_by=actor)
    )
    return journal.unpark(conn, hold_id)


def release_for_exception(conn: sa.Connection, exception_id: int, actor: str) -> int:
    """Release every active hold placed by an exception; returns events resumed."""
    ids = (
        conn.execute(
            sa.select(holds.c.id).where(
                holds.c.exception_id == exception_id, holds.c.status == ACTIVE
            )
        )
        .scalars()
        .all()
    )
    return sum(release(conn, int(hold_id), actor) for hold_id in ids)


def listing(
    conn: sa.Connection, *, status: str | None = ACTIVE, key: str | None = None
) -> list[dict[str, Any]]:
    """Holds, newest first, with how many events are parked behind each."""
    parked = (
        sa.select(sa.func.count())
        .where(
            journal.journal.c.hold_id == holds.c.id,
            journal.journal.c.status == journal.Status.PARKED,
        )
        .scalar_subquery()
    )
    stmt = sa.select(holds, parked.label("parked")).order_by(holds.c.id.desc())
    if status is not None:
        stmt = stmt.where(holds.c.status == status)
    if key is not None:
        stmt = stmt.where(holds.c.key == key)
    return [as_dict(row) for row in conn.execute(stmt)]


def get(conn: sa.Connection, hold_id: int) -> dict[str, Any] | None:
    """One hold."""
    row = conn.execute(sa.select(holds).where(holds.c.id == hold_id)).first()
    return None if row is None else as_dict(row)


def active_keys(conn: sa.Connection, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` have an active hold (one query; a batch's pre-check)."""
    found: set[str] = set()
    unique = sorted(set(keys))
    for start in range(0, len(unique), 500):
        found.update(
            conn.execute(
                sa.select(holds.c.key).where(
                    bulk.member_of(holds.c.key, unique[start : start + 500], conn),
                    holds.c.status == ACTIVE,
                )
            ).scalars()
        )
    return found
