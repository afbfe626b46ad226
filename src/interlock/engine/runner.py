"""Executes claimed runs step by step, storing each outcome before the next step starts.

A run that fails finally (or runs out of attempts) becomes an exception routed to a team, and
the flow's holds are placed on its business key; a run that later succeeds (after a retry or
an edit) closes its exception and releases those holds, and the parked events resume.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from interlock.connectors.base import Connector
from interlock.engine.flow import Flow, StepContext
from interlock.engine.retry import RetryPolicy
from interlock.events import CloudEvent
from interlock.exceptions import (
    AuthenticationFailed,
    BusinessRuleViolation,
    ConnectorError,
    ConnectorUnavailable,
    ContractViolation,
    InterlockError,
    MalformedResponse,
    OutcomeUnknown,
    RateLimited,
    RecordNotFound,
    RecordRejected,
    StoreError,
    Team,
)
from interlock.quota import QUOTA_CODE, prioritized
from interlock.store import (
    Store,
    audit,
    exception_queue,
    holds,
    journal,
    outbox,
    runs,
    xref,
)
from interlock.store.journal import now
from interlock.store.schema import flow_runs
from interlock.store.schema import journal as journal_table

log = logging.getLogger("interlock.engine")

_CATEGORIES: list[tuple[type[BaseException], str]] = [
    (ContractViolation, "validation"),
    (BusinessRuleViolation, "business_rule"),
    (RateLimited, "rate_limit"),
    (AuthenticationFailed, "authentication"),
    (MalformedResponse, "malformed_response"),
    (RecordRejected, "rejected_by_target"),
    (RecordNotFound, "not_found"),
    (ConnectorUnavailable, "unavailable"),
    (StoreError, "store"),
]


def category_of(exc: BaseException) -> str:
    """The exception-queue category of an error, by type."""
    for kind, name in _CATEGORIES:
        if isinstance(exc, kind):
            return name
    return "defect" if not isinstance(exc, InterlockError) else "integration"


def error_info(step: str, exc: BaseException, attempt: int) -> dict[str, Any]:
    """What is stored about a failure: typed, with the reason a person reads."""
    info: dict[str, Any] = {
        "step": step,
        "type": type(exc).__name__,
        "category": category_of(exc),
        "attempt": attempt,
        "reason": exc.message
        if isinstance(exc, InterlockError)
        else f"unexpected {type(exc).__name__} in step {step}",
        "team": (exc.team if isinstance(exc, InterlockError) else Team.INTEGRATION).value,
        "retryable": isinstance(exc, InterlockError) and exc.retryable,
        "outcome_unknown": isinstance(exc, OutcomeUnknown),
    }
    if isinstance(exc, ContractViolation):
        info["problems"] = [{"field": p.field, "rule": p.rule} for p in exc.problems]
    if isinstance(exc, ConnectorError):
        info.update(system=exc.system, status=exc.status, code=exc.code)
    return info


class Runner:
    """Runs flows for one worker."""

    def __init__(
        self,
        store: Store,
        flows: Mapping[str, Flow],
        systems: Mapping[str, Connector],
        roles: Mapping[str, str],
        *,
        worker: str,
        lease: dt.timedelta,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.store = store
        self.flows = flows
        self.systems = systems
        self.roles = roles
        self.worker = worker
        self.lease = lease
        self.policy = policy or RetryPolicy()

    def run_due(self, limit: int) -> int:
        """Claim and execute up to ``limit`` due runs. Returns how many were executed."""
        with self.store.transaction("claiming runs") as conn:
            claimed = runs.claim(conn, self.worker, limit, self.lease)
        for run in claimed:
            self.execute(run)
        return len(claimed)

    def execute(self, run: runs.Run) -> str:
        """Run the remaining steps of ``run``. Returns the run's status afterwards."""
        flow = self.flows[run.flow]
        with self.store.transaction("loading a run") as conn:
            done = runs.steps(conn, run.id)
            event, last_error = _event_of(conn, run.id)
        ctx = StepContext(
            run_id=run.id,
            business_key=run.business_key,
            event=event,
            outputs={name: rec.output or {} for name, rec in done.items()},
            store=self.store,
            systems=self.systems,
            roles=self.roles,
            started_at=run.started_at,
        )
        failed_before = run.attempts  # failed attempts of the step we stopped at
        lookups = flow.lookups()
        for seq, (name, step) in enumerate(flow.steps()):
            if name in done:
                continue
            ctx.attempt = failed_before + 1
            ctx.outcome_unknown = bool(
                failed_before
                and last_error
                and last_error.get("step") == name
                and last_error.get("outcome_unknown")
            )
            try:
                output: dict[str, Any] = {}
                with prioritized(flow.priority):
                    if ctx.outcome_unknown and name in lookups:
                        output = lookups[name](ctx)
                    if not output:
                        output = step(ctx)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a recorded state
                return self._failed(flow, run, name, exc, ctx)
            with self.store.transaction("recording a step") as conn:
                if not runs.renew(conn, run.id, self.worker, self.lease):
                    log.warning("run %s was taken over; stopping after step %s", run.id, name)
                    return runs.RunStatus.RUNNING
                for emitted in output.pop("emit", []):
                    outbox.enqueue(conn, CloudEvent.model_validate(emitted))
                runs.record_step(conn, run.id, name, seq, ctx.attempt, output)
            ctx.outputs[name] = output
            failed_before = 0
        self._succeeded(run, ctx)
        return runs.RunStatus.SUCCEEDED

    def _succeeded(self, run: runs.Run, ctx: StepContext) -> None:
        metrics = {
            key: value
            for output in ctx.outputs.values()
            for key, value in output.get("metrics", {}).items()
        }
        actor = f"worker:{self.worker}"
        with self.store.transaction("finishing a run") as conn:
            runs.finish(conn, run.id, runs.RunStatus.SUCCEEDED, metrics=metrics)
            journal.settle(conn, [run.journal_id])
            audit.record(
                conn, actor, "run.succeeded", f"{run.flow}:{run.business_key}", {"run": run.id}
            )
            open_exception = exception_queue.active_for_run(conn, run.id)
            if open_exception is not None:
                exception_queue.set_state(
                    conn, open_exception["id"], exception_queue.State.RESOLVED, actor
                )
                resumed = holds.release_for_exception(conn, open_exception["id"], actor)
                audit.record(
                    conn,
                    actor,
                    "exception.resolved",
                    f"exception:{open_exception['id']}",
                    {"by": "run succeeded", "resumed_events": resumed},
                )

    def _failed(
        self, flow: Flow, run: runs.Run, step: str, exc: BaseException, ctx: StepContext
    ) -> str:
        info = error_info(step, exc, ctx.attempt)
        if not isinstance(exc, InterlockError):
            log.exception(
                "step %s of run %s raised an unexpected error", step, run.id, exc_info=exc
            )
        policy = flow.retry_policies.get(step, self.policy)
        with self.store.transaction("recording a failure") as conn:
            if isinstance(exc, RateLimited) and exc.code == QUOTA_CODE:
                # Our own budget is spent until it refills: park, without using an attempt.
                wait = dt.timedelta(seconds=exc.retry_after or 1.0)
                runs.retry_later(conn, run.id, now() + wait, info, count_attempt=False)
                return runs.RunStatus.RUNNING
            if not isinstance(exc, ContractViolation) and policy.should_retry(ctx.attempt, exc):
                delay = policy.delay(ctx.attempt, exc)
                runs.retry_later(conn, run.id, now() + dt.timedelta(seconds=delay), info)
                return runs.RunStatus.RUNNING
            status = (
                runs.RunStatus.REJECTED
                if isinstance(exc, ContractViolation)
                else runs.RunStatus.FAILED
            )
            if info["retryable"]:
                info["reason"] = f"{info['reason']} (gave up after {ctx.attempt} attempts)"
            runs.finish(conn, run.id, status, error=info)
            self._open_exception(conn, flow, run, ctx, info)
            journal.settle(conn, [run.journal_id])
            return status

    def _open_exception(
        self, conn: sa.Connection, flow: Flow, run: runs.Run, ctx: StepContext, info: dict[str, Any]
    ) -> None:
        systems: set[str] = set()
        for canonical in {run.business_key, *_ids_in(ctx.outputs)}:
            systems.update(xref.all_for(conn, canonical))
        if info.get("system"):
            systems.add(str(info["system"]))
        exception_id = exception_queue.open_exception(
            conn,
            run_id=run.id,
            flow=run.flow,
            business_key=run.business_key,
            category=info["category"],
            team=info["team"],
            reason=f"{run.flow} step '{info['step']}': {info['reason']}",
            payload=ctx.event.data.get("payload", ctx.event.data),
            attempts=ctx.attempt,
            last_error=info,
            systems=sorted(systems),
        )
        placed = []
        for key, blocked in flow.holds_on_failure(run.business_key, ctx.outputs):
            hold_id = holds.place(
                conn,
                key,
                blocked,
                f"{run.flow} failed for {run.business_key}: {info['reason']}",
                exception_id,
            )
            placed.append({"hold": hold_id, "key": key, "blocks": list(blocked)})
        audit.record(
            conn,
            f"worker:{self.worker}",
            f"run.{info['category']}",
            f"{run.flow}:{run.business_key}",
            {"run": run.id, "exception": exception_id, "holds": placed, **info},
        )


def _ids_in(data: Any, depth: int = 0) -> set[str]:
    # Canonical ids in step outputs (values of "id" keys): the systems a run touched.
    found: set[str] = set()
    if depth > 4:
        return found
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "id" and isinstance(value, str):
                found.add(value)
            else:
                found |= _ids_in(value, depth + 1)
    elif isinstance(data, list):
        for item in data:
            found |= _ids_in(item, depth + 1)
    return found


def _event_of(conn: sa.Connection, run_id: str) -> tuple[CloudEvent, dict[str, Any] | None]:
    row = conn.execute(
        sa.select(journal_table.c.envelope, flow_runs.c.payload_override, flow_runs.c.error)
        .join(flow_runs, flow_runs.c.journal_id == journal_table.c.id)
        .where(flow_runs.c.id == run_id)
    ).one()
    event = CloudEvent.model_validate(row.envelope)
    if row.payload_override is not None:
        event = event.model_copy(update={"data": {**event.data, "payload": row.payload_override}})
    return event, row.error
