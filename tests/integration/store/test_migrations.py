from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from interlock.store import Store, metadata
from interlock.store.migrate import current, upgrade

HEAD = "0005"


def test_upgrading_from_empty_gives_the_declared_schema(db_url: str) -> None:
    store = Store(db_url)
    try:
        assert current(store.engine) is None
        store.upgrade()
        with store.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, metadata) == []
            tables = set(sa.inspect(conn).get_table_names())
        assert {
            "journal",
            "flow_runs",
            "flow_steps",
            "xref",
            "records",
            "cursors",
            "audit_log",
        } <= tables
        assert current(store.engine) == HEAD
        upgrade(store.engine)  # a second upgrade is a no-op
        assert current(store.engine) == HEAD
    finally:
        store.close()


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.close()
