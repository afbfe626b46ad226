"""Durable flow runs and their steps."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from interlock.store.journal import now
from interlock.store.schema import as_dict, flow_runs, flow_steps


class RunStatus:
    """Run states. ``running`` runs are picked up by workers; the others are final."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    FAILED = "failed"

    FINAL = frozenset({SUCCEEDED, REJECTED, FAILED})


@dataclass(frozen=True)
class Run:
    """A claimed run."""

    id: str
    flow: str
    business_key: str
    journal_id: int
    correlation_id: str | None
    attempts: int
    started_at: dt.datetime


@dataclass(frozen=True)
class StepRecord:
    """A stored step outcome."""

    name: str
    seq: int
    status: str
    attempts: int
    output: dict[str, Any] | None


def find(conn: sa.Connection, flow: str, business_key: str) -> dict[str, Any] | None:
    """The run of ``flow`` for ``business_key``, if any."""
    row = conn.execute(
        sa.select(flow_runs).where(
            flow_runs.c.flow == flow, flow_runs.c.business_key == business_key
        )
    ).first()
    return None if row is None else as_dict(row)


def start(
    conn: sa.Connection, flow: str, business_key: str, journal_id: int, correlation_id: str | None
) -> str:
    """Create a new running run and return its id."""
    # Time-ordered ids: runs started in order are claimed in order when they are due together.
    run_id = f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}"
    moment = now()
    conn.execute(
        sa.insert(flow_runs).values(
            id=run_id,
            flow=flow,
            business_key=business_key,
            journal_id=journal_id,
            correlation_id=correlation_id,
            status=RunStatus.RUNNING,
            started_at=moment,
            updated_at=moment,
            next_attempt_at=moment,
            attempts=0,
        )
    )
    return run_id


def restart(conn: sa.Connection, run_id: str, journal_id: int) -> None:
    """Run a rejected run again from its first step, for a newer event (the data was fixed)."""
    conn.execute(sa.delete(flow_steps).where(flow_steps.c.run_id == run_id))
    moment = now()
    conn.execute(
        sa.update(flow_runs)
        .where(flow_runs.c.id == run_id)
        .values(
            status=RunStatus.RUNNING,
            journal_id=journal_id,
            error=None,
            finished_at=None,
            updated_at=moment,
            next_attempt_at=moment,
            attempts=0,
            lease_owner=None,
            lease_until=None,
        )
    )


def claim(conn: sa.Connection, worker: str, limit: int, lease: dt.timedelta) -> list[Run]:
    """Claim runnable runs: running, due, and not leased by a live worker."""
    moment = now()
    candidates = (
        sa.select(flow_runs.c.id)
        .where(
            flow_runs.c.status == RunStatus.RUNNING,
            flow_runs.c.next_attempt_at <= moment,
            sa.or_(flow_runs.c.lease_until.is_(None), flow_runs.c.lease_until < moment),
        )
        .order_by(flow_runs.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    rows = conn.execute(
        sa.update(flow_runs)
        .where(flow_runs.c.id.in_(candidates.scalar_subquery()))
        .values(lease_owner=worker, lease_until=moment + lease)
        .returning(
            flow_runs.c.id,
            flow_runs.c.flow,
            flow_runs.c.business_key,
            flow_runs.c.journal_id,
            flow_runs.c.correlation_id,
            flow_runs.c.attempts,
            flow_runs.c.started_at,
        )
    ).all()
    claimed = [
        Run(
            r.id,
            r.flow,
            r.business_key,
            int(r.journal_id),
            r.correlation_id,
            int(r.attempts),
            r.started_at,
        )
        for r in rows
    ]
    return sorted(claimed, key=lambda run: run.id)  # RETURNING has no order


def steps(conn: sa.Connection, run_id: str) -> dict[str, StepRecord]:
    """Recorded steps of a run, by name."""
    rows = conn.execute(
        sa.select(flow_steps).where(flow_steps.c.run_id == run_id).order_by(flow_steps.c.seq)
    )
    return {
        r.name: StepRecord(r.name, int(r.seq), r.status, int(r.attempts), r.output) for r in rows
    }


def record_step(
    conn: sa.Connection, run_id: str, name: str, seq: int, attempts: int, output: dict[str, Any]
) -> None:
    """Store a step's successful outcome and reset the run's failed-attempt count.

    The run's lease is renewed by the caller.
    """
    conn.execute(
        sa.insert(flow_steps).values(
            run_id=run_id,
            name=name,
            seq=seq,
            status="done",
            attempts=attempts,
            output=output,
            finished_at=now(),
        )
    )
    conn.execute(sa.update(flow_runs).where(flow_runs.c.id == run_id).values(attempts=0))


def renew(conn: sa.Connection, run_id: str, worker: str, lease: dt.timedelta) -> bool:
    """Extend our lease. False when another worker took the run over (we must stop)."""
    result = conn.execute(
        sa.update(flow_runs)
        .where(
            flow_runs.c.id == run_id,
            flow_runs.c.lease_owner == worker,
            flow_runs.c.status == RunStatus.RUNNING,
        )
        .values(lease_until=now() + lease, updated_at=now())
    )
    return result.rowcount == 1


def finish(
    conn: sa.Connection,
    run_id: str,
    status: str,
    *,
    error: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> None:
    """Close a run with a final status."""
    moment = now()
    conn.execute(
        sa.update(flow_runs)
        .where(flow_runs.c.id == run_id)
        .values(
            status=status,
            finished_at=moment,
            updated_at=moment,
            error=error,
            metrics=metrics,
            lease_owner=None,
            lease_until=None,
        )
    )


def retry_later(
    conn: sa.Connection,
    run_id: str,
    at: dt.datetime,
    error: dict[str, Any],
    *,
    count_attempt: bool = True,
) -> None:
    """Give up the lease and come back at ``at`` (a failed attempt, unless told otherwise)."""
    conn.execute(
        sa.update(flow_runs)
        .where(flow_runs.c.id == run_id)
        .values(
            attempts=flow_runs.c.attempts + (1 if count_attempt else 0),
            next_attempt_at=at,
            error=error,
            lease_owner=None,
            lease_until=None,
            updated_at=now(),
        )
    )


def due_within(store: Any, horizon: dt.timedelta) -> bool:
    """True when a running run is due within ``horizon`` (a retry waiting its turn)."""
    with store.transaction("looking for due runs") as conn:
        found = conn.execute(
            sa.select(flow_runs.c.id)
            .where(
                flow_runs.c.status == RunStatus.RUNNING,
                flow_runs.c.next_attempt_at <= now() + horizon,
            )
            .limit(1)
        ).first()
    return found is not None


def listing(
    conn: sa.Connection, *, status: str | None = None, flow: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Runs, newest first."""
    stmt = sa.select(flow_runs).order_by(flow_runs.c.started_at.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(flow_runs.c.status == status)
    if flow is not None:
        stmt = stmt.where(flow_runs.c.flow == flow)
    return [as_dict(r) for r in conn.execute(stmt)]


def counts(conn: sa.Connection) -> dict[str, int]:
    """Runs by status."""
    rows = conn.execute(sa.select(flow_runs.c.status, sa.func.count()).group_by(flow_runs.c.status))
    return {str(s): int(n) for s, n in rows}
