"""The audit log: who did what to which subject, and when."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from interlock.store import bulk
from interlock.store.journal import now
from interlock.store.schema import as_dict, audit_log


def record(
    conn: sa.Connection,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry."""
    conn.execute(
        sa.insert(audit_log).values(
            at=now(), actor=actor, action=action, subject=subject, details=details
        )
    )


def entries(
    conn: sa.Connection, subject: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest entries first, optionally for one subject."""
    stmt = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if subject is not None:
        stmt = stmt.where(audit_log.c.subject == subject)
    return [as_dict(row) for row in conn.execute(stmt)]


def record_many(
    conn: sa.Connection, entries: Sequence[tuple[str, str, str, dict[str, Any] | None]]
) -> None:
    """Append several (actor, action, subject, details) entries in one statement."""
    if not entries:
        return
    moment = now()
    rows = [
        {"at": moment, "actor": a, "action": act, "subject": s, "details": d}
        for a, act, s, d in entries
    ]
    if conn.dialect.name == "postgresql":
        bulk.pg_insert(conn, audit_log, rows)
    else:
        conn.execute(sa.insert(audit_log), rows)
