"""Opening the database: engines for SQLite (WAL) and PostgreSQL, errors wrapped at the edge."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from interlock.exceptions import ConfigError, StoreError


def create_engine(url: str) -> Engine:
    """An engine for ``url``.

    SQLite gets WAL, a busy timeout and foreign keys; the parent folder of its file is created.
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(
            "environment", "INTERLOCK_DATABASE_URL", "is not a database URL"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            # Plan each statement for its own parameters: the driver prepares statements it
            # sees often, and a generic plan cached while a table was still small (a scan)
            # outlives the table's growth — batch look-ups then scan every run ever stored.
            return sa.create_engine(
                parsed,
                pool_pre_ping=True,
                pool_size=5,
                connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
            )
        except ModuleNotFoundError:
            raise ConfigError(
                "environment",
                "INTERLOCK_DATABASE_URL",
                "PostgreSQL needs psycopg: pip install 'interlock[postgresql]'",
            ) from None
    raise ConfigError(
        "environment",
        "INTERLOCK_DATABASE_URL",
        f"backend {backend!r} is not supported (sqlite or postgresql)",
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, manage transactions, so BEGIN IMMEDIATE is ours to send.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn: sa.Connection) -> None:
    # Take the write lock at BEGIN: two writers never deadlock upgrading read locks.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextlib.contextmanager
def wrap_errors(what: str) -> Iterator[None]:
    """Translate driver errors into StoreError, naming the operation, never the SQL."""
    try:
        yield
    except sa.exc.IntegrityError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        detail = type(getattr(exc, "orig", None) or exc).__name__
        raise StoreError(f"database error while {what}: {detail}") from exc
