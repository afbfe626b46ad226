"""The inbound journal: every change once, claimed in batches, with its verbatim payload."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from interlock.events import CloudEvent
from interlock.store.schema import cursors
from interlock.store.schema import journal as journal


class Status:
    """Journal entry states."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Entry:
    """A claimed journal entry."""

    id: int
    event: CloudEvent
    attempts: int


def now() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.UTC)


def _insert(conn: sa.Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(journal)
    return sqlite.insert(journal)


def append(conn: sa.Connection, event: CloudEvent, dedup_key: str) -> int | None:
    """Journal ``event`` unless ``dedup_key`` was seen already. Returns the new id or None."""
    stmt = (
        _insert(conn)
        .values(
            event_id=event.id,
            dedup_key=dedup_key,
            type=event.type,
            source=event.source,
            subject=event.subject,
            correlation_id=event.correlationid,
            received_at=now(),
            status=Status.PENDING,
            envelope=event.to_json(),
        )
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(journal.c.id)
    )
    row = conn.execute(stmt).first()
    return None if row is None else int(row[0])


def claim(conn: sa.Connection, worker: str, limit: int, lease: dt.timedelta) -> list[Entry]:
    """Claim up to ``limit`` pending entries (or ones whose lease ran out), oldest first."""
    moment = now()
    candidates = (
        sa.select(journal.c.id)
        .where(
            sa.or_(
                journal.c.status == Status.PENDING,
                sa.and_(journal.c.status == Status.CLAIMED, journal.c.lease_until < moment),
            )
        )
        .order_by(journal.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    stmt = (
        sa.update(journal)
        .where(journal.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=Status.CLAIMED,
            claimed_by=worker,
            lease_until=moment + lease,
            attempts=journal.c.attempts + 1,
        )
        .returning(journal.c.id, journal.c.envelope, journal.c.attempts)
    )
    rows = conn.execute(stmt).all()
    entries = [
        Entry(int(r.id), CloudEvent.model_validate(r.envelope), int(r.attempts)) for r in rows
    ]
    return sorted(entries, key=lambda e: e.id)


def finish(conn: sa.Connection, entry_id: int, status: str, outcome: str) -> None:
    """Mark an entry handled, with a one-line outcome a person can read."""
    conn.execute(
        sa.update(journal)
        .where(journal.c.id == entry_id)
        .values(status=status, outcome=outcome[:2000], lease_until=None)
    )


def get_cursor(conn: sa.Connection, system: str, kind: str) -> str | None:
    """Change-detection cursor of ``system`` for ``kind``."""
    return conn.execute(
        sa.select(cursors.c.cursor).where(cursors.c.system == system, cursors.c.kind == kind)
    ).scalar_one_or_none()


def set_cursor(conn: sa.Connection, system: str, kind: str, cursor: str | None) -> None:
    """Move the cursor (in the same transaction as the journal entries it covers)."""
    values = {"system": system, "kind": kind, "cursor": cursor, "updated_at": now()}
    ins = (
        postgresql.insert(cursors) if conn.dialect.name == "postgresql" else sqlite.insert(cursors)
    ).values(**values)
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["system", "kind"],
            set_={"cursor": cursor, "updated_at": values["updated_at"]},
        )
    )


def counts(conn: sa.Connection) -> dict[str, int]:
    """Entries by status."""
    rows = conn.execute(sa.select(journal.c.status, sa.func.count()).group_by(journal.c.status))
    return {str(status): int(n) for status, n in rows}
