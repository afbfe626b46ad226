"""The exception queue: work that failed finally, routed to the team that must act."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from interlock.store import bulk
from interlock.store.journal import now
from interlock.store.schema import as_dict, exceptions


class State:
    """Exception states. ``open`` and ``retrying`` need attention; the others are closed."""

    OPEN = "open"
    RETRYING = "retrying"
    RESOLVED = "resolved"
    SKIPPED = "skipped"

    ACTIVE = (OPEN, RETRYING)


def open_exception(
    conn: sa.Connection,
    *,
    run_id: str,
    flow: str,
    business_key: str,
    category: str,
    team: str,
    reason: str,
    payload: Any,
    attempts: int,
    last_error: dict[str, Any],
    systems: list[str],
) -> int:
    """Open an exception for a run (or reopen the run's active one). Returns its id."""
    existing = conn.execute(
        sa.select(exceptions.c.id).where(
            exceptions.c.run_id == run_id, exceptions.c.status.in_(State.ACTIVE)
        )
    ).scalar_one_or_none()
    values = {
        "category": category,
        "team": team,
        "reason": reason,
        "payload": payload,
        "attempts": attempts,
        "last_error": last_error,
        "systems": systems,
        "status": State.OPEN,
        "updated_at": now(),
    }
    if existing is not None:
        conn.execute(sa.update(exceptions).where(exceptions.c.id == existing).values(**values))
        return int(existing)
    row = conn.execute(
        sa.insert(exceptions)
        .values(run_id=run_id, flow=flow, business_key=business_key, created_at=now(), **values)
        .returning(exceptions.c.id)
    ).first()
    assert row is not None
    return int(row[0])


def get(conn: sa.Connection, exception_id: int) -> dict[str, Any] | None:
    """One exception."""
    row = conn.execute(sa.select(exceptions).where(exceptions.c.id == exception_id)).first()
    return None if row is None else as_dict(row)


def set_state(
    conn: sa.Connection, exception_id: int, state: str, closed_by: str | None = None
) -> None:
    """Move an exception to ``state``."""
    conn.execute(
        sa.update(exceptions)
        .where(exceptions.c.id == exception_id)
        .values(status=state, updated_at=now(), closed_by=closed_by)
    )


def listing(
    conn: sa.Connection,
    *,
    status: str | None = None,
    team: str | None = None,
    flow: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Exceptions, newest first, filtered."""
    stmt = sa.select(exceptions).order_by(exceptions.c.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(exceptions.c.status == status)
    if team is not None:
        stmt = stmt.where(exceptions.c.team == team)
    if flow is not None:
        stmt = stmt.where(exceptions.c.flow == flow)
    return [as_dict(row) for row in conn.execute(stmt)]


def counts(conn: sa.Connection) -> dict[str, int]:
    """Active exceptions by team."""
    rows = conn.execute(
        sa.select(exceptions.c.team, sa.func.count())
        .where(exceptions.c.status.in_(State.ACTIVE))
        .group_by(exceptions.c.team)
    )
    return {str(team): int(n) for team, n in rows}


def active_for_runs(conn: sa.Connection, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Open or retrying exceptions of several runs: run id → its exception."""
    found: dict[str, dict[str, Any]] = {}
    ids = list(run_ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(exceptions).where(
                bulk.member_of(exceptions.c.run_id, ids[start : start + 500], conn),
                exceptions.c.status.in_(State.ACTIVE),
            )
        )
        for row in rows:
            found[str(row.run_id)] = as_dict(row)
    return found
