"""Persistence: journal, flow runs, cross-reference, canonical records, audit (SQLAlchemy 2).

Modules take a ``sqlalchemy.Connection`` so callers choose the transaction; ``Store`` opens
the database and hands out transactions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa

from interlock.store import (
    audit,
    counters,
    exception_queue,
    fingerprints,
    holds,
    journal,
    outbox,
    records,
    runs,
    xref,
)
from interlock.store.database import create_engine, wrap_errors
from interlock.store.migrate import upgrade
from interlock.store.schema import metadata


class Store:
    """The database of one Interlock installation."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)

    @contextlib.contextmanager
    def transaction(self, what: str = "working") -> Iterator[sa.Connection]:
        """A connection inside one transaction; committed on success, rolled back on error."""
        with wrap_errors(what), self.engine.begin() as conn:
            yield conn

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        upgrade(self.engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


__all__ = [
    "Store",
    "audit",
    "counters",
    "exception_queue",
    "fingerprints",
    "holds",
    "journal",
    "metadata",
    "outbox",
    "records",
    "runs",
    "xref",
]
