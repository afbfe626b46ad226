"""Durable flow runs and their steps."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from interlock.store import bulk
from interlock.store.journal import now
from interlock.store.schema import as_dict, flow_runs, flow_steps
from interlock.store.schema import journal as journal_table


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


def new_id() -> str:
    """A run id. Time-ordered: runs started in order are claimed in order when due together."""
    return f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}"


def start_many(conn: sa.Connection, items: Sequence[tuple[str, str, str, int, str | None]]) -> None:
    """Store new running runs: (run id, flow, business key, journal id, correlation id)."""
    if not items:
        return
    moment = now()
    rows = [
        {
            "id": run_id,
            "flow": flow,
            "business_key": key,
            "journal_id": journal_id,
            "correlation_id": correlation_id,
            "status": RunStatus.RUNNING,
            "started_at": moment,
            "updated_at": moment,
            "next_attempt_at": moment,
            "attempts": 0,
        }
        for run_id, flow, key, journal_id, correlation_id in items
    ]
    conn.execute(sa.insert(flow_runs).returning(flow_runs.c.id), rows)  # batched VALUES


@dataclass(frozen=True)
class NewRun:
    """A run stored after its first step ran (see ``interlock.engine.dispatch.Fresh``)."""

    id: str
    flow: str
    business_key: str
    journal_id: int
    correlation_id: str | None
    started_at: dt.datetime
    finished: bool
    metrics: dict[str, Any] | None = None


def insert_after_first_step(
    conn: sa.Connection, items: Sequence[NewRun], worker: str, lease: dt.timedelta
) -> set[str]:
    """Store runs whose first step has run: finished ones as succeeded, others leased to us.

    Returns the ids stored; a run whose (flow, business key) already exists is not (a race
    with another entry for the same key; its effects were idempotent writes).
    """
    if not items:
        return set()
    moment = now()
    rows = [
        {
            "id": item.id,
            "flow": item.flow,
            "business_key": item.business_key,
            "journal_id": item.journal_id,
            "correlation_id": item.correlation_id,
            "status": RunStatus.SUCCEEDED if item.finished else RunStatus.RUNNING,
            "started_at": item.started_at,
            "updated_at": moment,
            "finished_at": moment if item.finished else None,
            "next_attempt_at": moment,
            "lease_owner": None if item.finished else worker,
            "lease_until": None if item.finished else moment + lease,
            "attempts": 0,
            "metrics": (item.metrics or {}) if item.finished else None,
        }
        for item in items
    ]
    if conn.dialect.name == "postgresql":
        found = bulk.pg_insert(
            conn,
            flow_runs,
            rows,
            suffix="ON CONFLICT (flow, business_key) DO NOTHING",
            returning="id",
        )
        return {str(i) for i in found}
    stmt = (
        sqlite.insert(flow_runs)
        .on_conflict_do_nothing(index_elements=["flow", "business_key"])
        .returning(flow_runs.c.id)
    )
    return {str(i) for i in conn.execute(stmt, rows).scalars()}


def find_many(
    conn: sa.Connection, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """``find`` for many (flow, business key) pairs: id and status of those that exist."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    by_flow: dict[str, set[str]] = {}
    for flow, key in pairs:
        by_flow.setdefault(flow, set()).add(key)
    for flow, keys in sorted(by_flow.items()):
        # flow = :flow AND key IN (...): the (flow, business_key) unique index answers it;
        # the key alone would scan every run ever started.
        for chunk in _chunks(sorted(keys)):
            rows = conn.execute(
                sa.select(flow_runs.c.id, flow_runs.c.business_key, flow_runs.c.status).where(
                    flow_runs.c.flow == flow,
                    bulk.member_of(flow_runs.c.business_key, chunk, conn),
                )
            )
            for row in rows:
                found[(flow, row.business_key)] = {"id": row.id, "status": row.status}
    return found


@dataclass(frozen=True)
class Loaded:
    """What executing a claimed run needs: its stored steps, event envelope and last error."""

    steps: dict[str, StepRecord]
    envelope: dict[str, Any]
    payload_override: dict[str, Any] | None
    error: dict[str, Any] | None


def load_many(conn: sa.Connection, run_ids: Sequence[str]) -> dict[str, Loaded]:
    """Steps, event and last error of several runs, in two queries per chunk."""
    loaded: dict[str, Loaded] = {}
    for chunk in _chunks(list(run_ids)):
        steps_by_run: dict[str, dict[str, StepRecord]] = {run_id: {} for run_id in chunk}
        step_rows = conn.execute(
            sa.select(flow_steps)
            .where(bulk.member_of(flow_steps.c.run_id, chunk, conn))
            .order_by(flow_steps.c.run_id, flow_steps.c.seq)
        )
        for r in step_rows:
            steps_by_run[r.run_id][r.name] = StepRecord(
                r.name, int(r.seq), r.status, int(r.attempts), r.output
            )
        rows = conn.execute(
            sa.select(
                flow_runs.c.id,
                journal_table.c.envelope,
                flow_runs.c.payload_override,
                flow_runs.c.error,
            )
            .join(journal_table, flow_runs.c.journal_id == journal_table.c.id)
            .where(bulk.member_of(flow_runs.c.id, chunk, conn))
        )
        for r in rows:
            loaded[r.id] = Loaded(steps_by_run[r.id], r.envelope, r.payload_override, r.error)
    return loaded


def record_steps(
    conn: sa.Connection,
    worker: str,
    lease: dt.timedelta,
    steps: Sequence[tuple[str, str, int, int, dict[str, Any]]],
) -> set[str]:
    """Store successful step outcomes of runs this worker still owns; renew their leases.

    ``steps`` holds (run id, step name, seq, attempts, output), at most one per run. Returns
    the run ids whose steps were stored; the others were taken over by another worker after
    our lease ran out, and must not go on here.
    """
    if not steps:
        return set()
    moment = now()
    owned: set[str] = set()
    for chunk in _chunks([s[0] for s in steps]):
        owned.update(
            conn.execute(
                sa.update(flow_runs)
                .where(
                    bulk.member_of(flow_runs.c.id, chunk, conn),
                    flow_runs.c.lease_owner == worker,
                    flow_runs.c.status == RunStatus.RUNNING,
                )
                .values(lease_until=moment + lease, updated_at=moment, attempts=0)
                .returning(flow_runs.c.id)
            ).scalars()
        )
    insert_steps(conn, [step for step in steps if step[0] in owned])
    return owned


def insert_steps(
    conn: sa.Connection, steps: Sequence[tuple[str, str, int, int, dict[str, Any]]]
) -> None:
    """Insert successful step outcomes: (run id, step name, seq, attempts, output)."""
    if not steps:
        return
    moment = now()
    rows = [
        {
            "run_id": run_id,
            "name": name,
            "seq": seq,
            "status": "done",
            "attempts": attempts,
            "output": output,
            "finished_at": moment,
        }
        for run_id, name, seq, attempts, output in steps
    ]
    if conn.dialect.name == "postgresql":
        bulk.pg_insert(conn, flow_steps, rows)
    else:
        conn.execute(sa.insert(flow_steps), rows)


def renew_many(
    conn: sa.Connection, run_ids: Sequence[str], worker: str, lease: dt.timedelta
) -> set[str]:
    """Extend our leases on runs. Returns the ids still ours (the others were taken over)."""
    owned: set[str] = set()
    moment = now()
    for chunk in _chunks(list(run_ids)):
        owned.update(
            conn.execute(
                sa.update(flow_runs)
                .where(
                    bulk.member_of(flow_runs.c.id, chunk, conn),
                    flow_runs.c.lease_owner == worker,
                    flow_runs.c.status == RunStatus.RUNNING,
                )
                .values(lease_until=moment + lease, updated_at=moment)
                .returning(flow_runs.c.id)
            ).scalars()
        )
    return owned


def succeed_many(conn: sa.Connection, metrics: Mapping[str, dict[str, Any]]) -> None:
    """Close several runs as succeeded; ``metrics`` maps run id → its business metrics."""
    if not metrics:
        return
    moment = now()
    final = {
        "status": RunStatus.SUCCEEDED,
        "finished_at": moment,
        "updated_at": moment,
        "error": None,
        "lease_owner": None,
        "lease_until": None,
    }
    plain = [run_id for run_id, values in metrics.items() if not values]
    for chunk in _chunks(plain):
        conn.execute(
            sa.update(flow_runs)
            .where(bulk.member_of(flow_runs.c.id, chunk, conn))
            .values(metrics={}, **final)
        )
    measured = [
        {"b_id": run_id, "b_metrics": values} for run_id, values in metrics.items() if values
    ]
    if measured:
        conn.execute(
            sa.update(flow_runs)
            .where(flow_runs.c.id == sa.bindparam("b_id"))
            .values(metrics=sa.bindparam("b_metrics"), **final),
            measured,
        )


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[list[str]]:
    for start_at in range(0, len(items), size):
        yield list(items[start_at : start_at + size])
