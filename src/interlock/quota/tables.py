"""Tables of the budget shared across processes.

Times are seconds (for window buckets, milliseconds) since the Unix epoch, so every process
compares the same numbers. The store's migrations create the tables; ``create_tables`` is for
tests and benches.
"""

from __future__ import annotations

import sqlalchemy as sa

from interlock.store.schema import metadata, quota_slots, quota_state, quota_waiters, quota_windows

__all__ = [
    "create_tables",
    "metadata",
    "quota_slots",
    "quota_state",
    "quota_waiters",
    "quota_windows",
]


def create_tables(engine: sa.Engine) -> None:
    """Create the quota tables if missing (tests, benches; production uses migrations)."""
    metadata.create_all(engine)
