"""Executes claimed runs step by step, storing each outcome before the next step starts."""

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
from interlock.exceptions import ConnectorError, ContractViolation, InterlockError, Team
from interlock.store import Store, audit, runs
from interlock.store.journal import now
from interlock.store.schema import journal

log = logging.getLogger("interlock.engine")


def _error(step: str, exc: BaseException, attempt: int) -> dict[str, Any]:
    info: dict[str, Any] = {
        "step": step,
        "type": type(exc).__name__,
        "attempt": attempt,
        "reason": exc.message
        if isinstance(exc, InterlockError)
        else f"unexpected {type(exc).__name__} in step {step}",
        "team": (exc.team if isinstance(exc, InterlockError) else Team.INTEGRATION).value,
        "retryable": isinstance(exc, InterlockError) and exc.retryable,
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
            event = _event_of(conn, run.journal_id)
        ctx = StepContext(
            run_id=run.id,
            business_key=run.business_key,
            event=event,
            outputs={name: rec.output or {} for name, rec in done.items()},
            store=self.store,
            systems=self.systems,
            roles=self.roles,
            started_at=run.started_at,
            attempt=run.attempts + 1,
        )
        failed_before = run.attempts  # failed attempts of the step we stopped at
        for seq, (name, step) in enumerate(flow.steps()):
            if name in done:
                continue
            ctx.attempt = failed_before + 1
            try:
                output = step(ctx)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a recorded state
                return self._failed(run, name, exc, ctx.attempt)
            with self.store.transaction("recording a step") as conn:
                if not runs.renew(conn, run.id, self.worker, self.lease):
                    log.warning("run %s was taken over; stopping after step %s", run.id, name)
                    return runs.RunStatus.RUNNING
                runs.record_step(conn, run.id, name, seq, ctx.attempt, output)
            ctx.outputs[name] = output
            failed_before = 0
        with self.store.transaction("finishing a run") as conn:
            metrics = {
                key: value
                for output in ctx.outputs.values()
                for key, value in output.get("metrics", {}).items()
            }
            runs.finish(conn, run.id, runs.RunStatus.SUCCEEDED, metrics=metrics)
            audit.record(
                conn,
                f"worker:{self.worker}",
                "run.succeeded",
                f"{run.flow}:{run.business_key}",
                {"run": run.id},
            )
        return runs.RunStatus.SUCCEEDED

    def _failed(self, run: runs.Run, step: str, exc: BaseException, attempt: int) -> str:
        info = _error(step, exc, attempt)
        subject = f"{run.flow}:{run.business_key}"
        if not isinstance(exc, InterlockError):
            log.exception(
                "step %s of run %s raised an unexpected error", step, run.id, exc_info=exc
            )
        with self.store.transaction("recording a failure") as conn:
            if isinstance(exc, ContractViolation):
                runs.finish(conn, run.id, runs.RunStatus.REJECTED, error=info)
                audit.record(conn, f"worker:{self.worker}", "run.rejected", subject, info)
                return runs.RunStatus.REJECTED
            if self.policy.should_retry(attempt, exc):
                delay = self.policy.delay(attempt, exc)
                runs.retry_later(conn, run.id, now() + dt.timedelta(seconds=delay), info)
                return runs.RunStatus.RUNNING
            runs.finish(conn, run.id, runs.RunStatus.FAILED, error=info)
            audit.record(conn, f"worker:{self.worker}", "run.failed", subject, info)
            return runs.RunStatus.FAILED


def _event_of(conn: sa.Connection, journal_id: int) -> CloudEvent:
    envelope = conn.execute(
        sa.select(journal.c.envelope).where(journal.c.id == journal_id)
    ).scalar_one()
    return CloudEvent.model_validate(envelope)
