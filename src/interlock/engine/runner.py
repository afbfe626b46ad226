"""Executes claimed runs step by step, storing each outcome before the next step starts.

A run that fails finally (or runs out of attempts) becomes an exception routed to a team, and
the flow's holds are placed on its business key; a run that later succeeds (after a retry or
an edit) closes its exception and releases those holds, and the parked events resume.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from interlock.connectors.base import Connector
from interlock.engine.dispatch import Fresh
from interlock.engine.flow import BatchStep, Flow, Step, StepContext
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


@dataclass
class _Live:
    """A claimed run being executed: where it stands and what its steps have produced."""

    run: runs.Run
    flow: Flow
    ctx: StepContext
    steps: list[tuple[str, Step]]
    position: int
    failed_before: int
    last_error: dict[str, Any] | None

    @property
    def finished(self) -> bool:
        return self.position >= len(self.steps)

    def advance(self) -> None:
        """Skip the steps already stored; prepare the context for the next one."""
        while not self.finished and self.steps[self.position][0] in self.ctx.outputs:
            self.position += 1
        if self.finished:
            return
        name = self.steps[self.position][0]
        self.ctx.attempt = self.failed_before + 1
        self.ctx.outcome_unknown = bool(
            self.failed_before
            and self.last_error
            and self.last_error.get("step") == name
            and self.last_error.get("outcome_unknown")
        )


Outcome = dict[str, Any] | BaseException


class Runner:
    """Runs flows for one worker, a batch of runs at a time.

    The claimed runs advance together, one step per wave: runs at the same step of a flow that
    offers a batch version of it go to the target in one call (a vendor batch API, pipelined
    HTTP); the others run one by one. Each wave's outcomes are stored in one transaction, and
    runs whose last step it was are closed in that same transaction.
    """

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
            loaded = runs.load_many(conn, [run.id for run in claimed]) if claimed else {}
        if claimed:
            self.execute_many(claimed, loaded)
        return len(claimed)

    def execute(self, run: runs.Run) -> str:
        """Run the remaining steps of one claimed run. Returns its status afterwards."""
        with self.store.transaction("loading a run") as conn:
            loaded = runs.load_many(conn, [run.id])
        return self.execute_many([run], loaded)[run.id]

    def execute_many(
        self, claimed: Sequence[runs.Run], loaded: Mapping[str, runs.Loaded]
    ) -> dict[str, str]:
        """Run the remaining steps of claimed runs. Returns each run's status afterwards."""
        return self._drive([self._live(run, loaded[run.id]) for run in claimed], {})

    def execute_fresh(self, fresh: Sequence[Fresh]) -> dict[str, str]:
        """Run new runs' first step, then store the runs, their steps and their entries at once.

        Their journal entries are claimed by this worker. Runs that finish in that step (a
        one-step flow, the common case of forwarding) cost one transaction per batch; the others
        are stored leased to this worker and go on like any claimed run.
        """
        started = now()
        live = []
        for item in fresh:
            run = runs.Run(
                item.run_id,
                item.flow.name,
                item.key,
                item.entry.id,
                item.entry.event.correlationid,
                0,
                started,
            )
            ctx = StepContext(
                run_id=run.id,
                business_key=run.business_key,
                event=item.entry.event,
                outputs={},
                store=self.store,
                systems=self.systems,
                roles=self.roles,
                started_at=started,
            )
            live.append(_Live(run, item.flow, ctx, item.flow.steps(), 0, 0, None))
        for one in live:
            one.advance()
        entries = [item.entry.id for item in fresh]
        outcomes = self._wave(
            live, renew=lambda conn: journal.renew_claims(conn, entries, self.worker, self.lease)
        )
        text = {item.entry.id: item.outcome for item in fresh}
        with self.store.transaction("storing new runs") as conn:
            owned_entries = journal.renew_claims(conn, entries, self.worker, self.lease)
            kept = [
                (one, outcome)
                for one, outcome in zip(live, outcomes, strict=True)
                if one.run.journal_id in owned_entries
            ]
            steps, emitted = {}, {}
            for one, outcome in kept:
                if isinstance(outcome, BaseException):
                    continue
                name = one.steps[one.position][0]
                steps[one.run.id] = (one.run.id, name, one.position, one.ctx.attempt, outcome)
                emitted[one.run.id] = outcome.pop("emit", [])
                one.ctx.outputs[name] = outcome
                one.position += 1
                one.failed_before = 0
                one.advance()
            stored = runs.insert_after_first_step(
                conn,
                [
                    runs.NewRun(
                        one.run.id,
                        one.run.flow,
                        one.run.business_key,
                        one.run.journal_id,
                        one.run.correlation_id,
                        started,
                        finished=one.run.id in steps and one.finished,
                        metrics=_metrics(one),
                    )
                    for one, _ in kept
                ],
                self.worker,
                self.lease,
            )
            outbox.enqueue_many(
                conn,
                [
                    CloudEvent.model_validate(event)
                    for run_id in sorted(stored & emitted.keys())
                    for event in emitted[run_id]
                ],
            )
            runs.insert_steps(conn, [row for run_id, row in steps.items() if run_id in stored])
            accepted = stored & steps.keys()
            done = [one for one, _ in kept if one.run.id in accepted and one.finished]
            finished_entries = {one.run.journal_id for one in done}
            open_entries = {one.run.journal_id for one, _ in kept} - finished_entries
            journal.finish_many(
                conn,
                [
                    (
                        entry_id,
                        journal.Status.DISPATCHED
                        if entry_id in open_entries
                        else journal.Status.DONE,
                        text[entry_id],
                    )
                    for entry_id in sorted(owned_entries)
                ],
            )
            audit.record_many(conn, [self._success_entry(one) for one in done])
        statuses = {one.run.id: runs.RunStatus.SUCCEEDED for one in done}
        going_on = []
        for one, outcome in kept:
            if one.run.id not in stored:
                log.warning(
                    "run %s of %s exists already; not stored twice", one.run.id, one.run.flow
                )
            elif isinstance(outcome, BaseException):
                name = one.steps[one.position][0]
                statuses[one.run.id] = self._failed(one.flow, one.run, name, outcome, one.ctx)
            elif not one.finished:
                going_on.append(one)
        return self._drive(going_on, statuses)

    def _success_entry(self, one: _Live) -> tuple[str, str, str, dict[str, Any] | None]:
        return (
            f"worker:{self.worker}",
            "run.succeeded",
            f"{one.run.flow}:{one.run.business_key}",
            {"run": one.run.id},
        )

    def _drive(self, live: list[_Live], statuses: dict[str, str]) -> dict[str, str]:
        while live:
            for item in live:
                item.advance()
            ready = [item for item in live if item.finished]  # stored before a crash
            stepping = [item for item in live if not item.finished]
            outcomes = self._wave(stepping)
            succeeded: list[tuple[_Live, dict[str, Any]]] = []
            for item, outcome in zip(stepping, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    name = item.steps[item.position][0]
                    statuses[item.run.id] = self._failed(
                        item.flow, item.run, name, outcome, item.ctx
                    )
                else:
                    succeeded.append((item, outcome))
            owned = self._record(succeeded, ready)
            live = []
            for item in ready + [item for item, _ in succeeded]:
                if item.run.id not in owned:
                    log.warning("run %s was taken over; stopping here", item.run.id)
                    statuses[item.run.id] = runs.RunStatus.RUNNING
                elif item.finished:
                    statuses[item.run.id] = runs.RunStatus.SUCCEEDED
                else:
                    live.append(item)
        return statuses

    def _live(self, run: runs.Run, loaded: runs.Loaded) -> _Live:
        flow = self.flows[run.flow]
        event = CloudEvent.model_validate(loaded.envelope)
        if loaded.payload_override is not None:
            event = event.model_copy(
                update={"data": {**event.data, "payload": loaded.payload_override}}
            )
        ctx = StepContext(
            run_id=run.id,
            business_key=run.business_key,
            event=event,
            outputs={name: rec.output or {} for name, rec in loaded.steps.items()},
            store=self.store,
            systems=self.systems,
            roles=self.roles,
            started_at=run.started_at,
        )
        # ``attempts`` counts failed attempts of the step the run stopped at.
        return _Live(run, flow, ctx, flow.steps(), 0, run.attempts, loaded.error)

    def _wave(
        self,
        stepping: Sequence[_Live],
        renew: Callable[[sa.Connection], object] | None = None,
    ) -> list[Outcome]:
        """Execute the next step of every run; outcomes in the order of ``stepping``."""
        outcomes: dict[int, Outcome] = {}
        groups: dict[tuple[str, str], list[int]] = {}
        for index, item in enumerate(stepping):
            groups.setdefault((item.flow.name, item.steps[item.position][0]), []).append(index)
        ids = [item.run.id for item in stepping]
        heartbeat = _Heartbeat(
            self.store,
            self.lease,
            renew or (lambda conn: runs.renew_many(conn, ids, self.worker, self.lease)),
        )
        for (_, name), members in groups.items():
            flow = stepping[members[0]].flow
            batch = flow.batch_steps().get(name)
            lookups = flow.lookups()
            single = [
                i
                for i in members
                if batch is None or (stepping[i].ctx.outcome_unknown and name in lookups)
            ]
            alone = set(single)
            together = [i for i in members if i not in alone]
            if batch is not None and together:
                results = _call_batch(flow, batch, [stepping[i].ctx for i in together])
                outcomes.update(zip(together, results, strict=True))
                heartbeat.beat()
            for i in single:
                item = stepping[i]
                outcomes[i] = _call_single(
                    flow, item.steps[item.position][1], lookups.get(name), item.ctx
                )
                heartbeat.beat()
        return [outcomes[i] for i in range(len(stepping))]

    def _record(
        self, succeeded: Sequence[tuple[_Live, dict[str, Any]]], ready: Sequence[_Live]
    ) -> set[str]:
        """Store a wave's outputs and close the runs that are done, in one transaction."""
        if not succeeded and not ready:
            return set()
        emitted: dict[str, list[Any]] = {}
        rows = []
        for item, output in succeeded:
            emitted[item.run.id] = output.pop("emit", [])
            name = item.steps[item.position][0]
            rows.append((item.run.id, name, item.position, item.ctx.attempt, output))
        with self.store.transaction("recording steps") as conn:
            owned = runs.record_steps(conn, self.worker, self.lease, rows)
            owned |= runs.renew_many(conn, [item.run.id for item in ready], self.worker, self.lease)
            outbox.enqueue_many(
                conn,
                [
                    CloudEvent.model_validate(event)
                    for item, _ in succeeded
                    if item.run.id in owned
                    for event in emitted[item.run.id]
                ],
            )
            for item, output in succeeded:
                if item.run.id not in owned:
                    continue
                item.ctx.outputs[item.steps[item.position][0]] = output
                item.position += 1
                item.failed_before = 0
            both = [*ready, *(item for item, _ in succeeded)]
            for item in both:
                item.advance()
            done = [item for item in both if item.finished and item.run.id in owned]
            self._succeed(conn, done)
        return owned

    def _succeed(self, conn: sa.Connection, done: Sequence[_Live]) -> None:
        if not done:
            return
        actor = f"worker:{self.worker}"
        runs.succeed_many(conn, {item.run.id: _metrics(item) for item in done})
        journal.settle(conn, [item.run.journal_id for item in done])
        audit.record_many(conn, [self._success_entry(item) for item in done])
        for open_exception in exception_queue.active_for_runs(
            conn, [i.run.id for i in done]
        ).values():
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
        for key, blocked in flow.holds_for(ctx):
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


class _Heartbeat:
    """Renews a wave's claims while its one-by-one steps take their time."""

    def __init__(
        self, store: Store, lease: dt.timedelta, renew: Callable[[sa.Connection], object]
    ) -> None:
        self.store = store
        self.renew = renew
        self.every = lease.total_seconds() / 3
        self.last = time.monotonic()

    def beat(self) -> None:
        if time.monotonic() - self.last < self.every:
            return
        with self.store.transaction("renewing leases") as conn:
            self.renew(conn)
        self.last = time.monotonic()


def _metrics(one: _Live) -> dict[str, Any]:
    """Business metrics the run's steps reported."""
    return {
        key: value
        for output in one.ctx.outputs.values()
        for key, value in output.get("metrics", {}).items()
    }


def _call_single(flow: Flow, step: Step, lookup: Step | None, ctx: StepContext) -> Outcome:
    try:
        with prioritized(flow.priority):
            output: dict[str, Any] = {}
            if ctx.outcome_unknown and lookup is not None:
                output = lookup(ctx)
            if not output:
                output = step(ctx)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a recorded state
        return exc
    return output


def _call_batch(flow: Flow, batch: BatchStep, contexts: list[StepContext]) -> list[Outcome]:
    try:
        with prioritized(flow.priority):
            results = batch(contexts)
    except Exception as exc:  # noqa: BLE001 - the whole call failed: so did each run in it
        return [exc] * len(contexts)
    if len(results) != len(contexts) or not all(
        isinstance(r, dict | BaseException) for r in results
    ):
        defect = TypeError(
            f"batch step of {flow.name} returned {len(results)} outcomes for "
            f"{len(contexts)} runs (each must be a dict or an exception)"
        )
        return [defect] * len(contexts)
    return results
