"""Shared fixtures: databases on both backends, services that must be real in CI."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

REQUIRE_SERVICES = os.environ.get("INTERLOCK_REQUIRE_SERVICES") == "1"
PG_ADMIN_URL = os.environ.get(
    "INTERLOCK_TEST_PG_ADMIN_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)


def need_service(reason: str) -> None:
    """Skip on a bare machine; fail where services are required (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def _pg_admin() -> sa.Engine | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return engine
    except Exception:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return None


@contextlib.contextmanager
def fresh_pg_database() -> Iterator[str]:
    """Create an empty PostgreSQL database; drop it on exit."""
    admin = _pg_admin()
    if admin is None:
        need_service(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
        raise AssertionError  # unreachable
    name = f"interlock_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file in a temporary folder."""
    return f"sqlite:///{tmp_path / 'interlock.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'interlock.sqlite'}"
    else:
        with fresh_pg_database() as url:
            yield url
