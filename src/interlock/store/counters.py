"""Named business counters (echoes dropped, stale events skipped, ...)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from interlock.store.schema import counters


def add(conn: sa.Connection, name: str, amount: int = 1) -> None:
    """Add ``amount`` to counter ``name``."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(counters).values(name=name, value=amount)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"], set_={"value": counters.c.value + amount}
        )
    )


def read(conn: sa.Connection) -> dict[str, int]:
    """Every counter."""
    return {str(n): int(v) for n, v in conn.execute(sa.select(counters.c.name, counters.c.value))}
