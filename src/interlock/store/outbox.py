"""The transactional outbox: canonical events written with the change they announce."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from interlock.events import CloudEvent
from interlock.store import bulk
from interlock.store.journal import now
from interlock.store.schema import outbox

SUBJECT_PREFIX = "interlock"


def subject_for(event_type: str) -> str:
    """NATS subject of an event type: one subject per type, under the ``interlock.`` prefix."""
    if event_type.startswith(f"{SUBJECT_PREFIX}."):
        return event_type
    return f"{SUBJECT_PREFIX}.{event_type}"


def enqueue(conn: sa.Connection, event: CloudEvent) -> None:
    """Add ``event`` to the outbox (once: the event id is the message id)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(outbox)
        .values(
            msg_id=event.id,
            subject=subject_for(event.type),
            type=event.type,
            payload=event.to_json(),
            created_at=now(),
        )
        .on_conflict_do_nothing(index_elements=["msg_id"])
    )


def enqueue_many(conn: sa.Connection, events: Sequence[CloudEvent]) -> None:
    """``enqueue`` for a batch of events, in one statement."""
    if not events:
        return
    moment = now()
    rows = [
        {
            "msg_id": event.id,
            "subject": subject_for(event.type),
            "type": event.type,
            "payload": event.to_json(),
            "created_at": moment,
        }
        for event in {event.id: event for event in events}.values()
    ]
    if conn.dialect.name == "postgresql":
        bulk.pg_insert(conn, outbox, rows, suffix="ON CONFLICT (msg_id) DO NOTHING")
        return
    conn.execute(sqlite.insert(outbox).on_conflict_do_nothing(index_elements=["msg_id"]), rows)


@dataclass(frozen=True)
class Message:
    """An outbox message ready to publish."""

    id: int
    msg_id: str
    subject: str
    payload: dict[str, Any]


def pending(conn: sa.Connection, limit: int) -> list[Message]:
    """Unpublished messages, oldest first (locked on PostgreSQL so relays share the work)."""
    stmt = (
        sa.select(outbox.c.id, outbox.c.msg_id, outbox.c.subject, outbox.c.payload)
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [Message(int(r.id), r.msg_id, r.subject, r.payload) for r in conn.execute(stmt)]


def mark_published(conn: sa.Connection, ids: list[int], at: dt.datetime | None = None) -> None:
    """Mark messages published."""
    if ids:
        conn.execute(sa.update(outbox).where(outbox.c.id.in_(ids)).values(published_at=at or now()))


def backlog(conn: sa.Connection) -> int:
    """Messages not yet published."""
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        ).scalar_one()
    )
