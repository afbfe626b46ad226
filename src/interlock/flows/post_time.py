"""Approved time from the PSA (or a legacy CSV drop, or a time-capture tool) → the ERP.

Approved time arrives as a native change read from a source system, or as a canonical
``time_entry.approved`` event whose data is the time entry itself (what a time-capture tool
publishes on the event fabric). Time read from the ERP itself is already where billing
reads it, and is ignored.

Steps:

1. ``validate``: map the approved entry; the project must be set up in the ERP (if it is
   still being mobilised the step waits and retries) and the consultant must be known there.
2. ``post``: upsert the entry in the ERP keyed by its canonical id. After an unknown outcome
   (a timeout) the entry is looked up in the ERP before it is sent again. When several
   runs are at this step together, ``post_many`` sends them in one batch call.

Time for a project whose set-up failed is parked by the hold that failure placed, in order,
and posts by itself when the hold is released.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa

from interlock.connectors.base import Connector, UpsertResult
from interlock.engine.flow import BatchStep, Decision, Flow, Step, StepContext
from interlock.engine.ingest import native_change
from interlock.engine.retry import RetryPolicy
from interlock.events import CloudEvent, event_type
from interlock.exceptions import (
    BusinessRuleViolation,
    ContractViolation,
    DependencyNotReady,
    FieldProblem,
    RecordRejected,
    Team,
)
from interlock.model import ApprovalState, TimeEntry, validate_contract
from interlock.quota import Priority
from interlock.store import xref


def _is_native(event: CloudEvent) -> bool:
    return "system" in event.data and "native_id" in event.data


def _entry(event: CloudEvent, systems: Mapping[str, Connector]) -> TimeEntry:
    if not _is_native(event):  # a canonical event: the data is the entry (or its edit)
        data = event.data.get("payload", event.data)
        return validate_contract(
            TimeEntry, data, subject=f"time entry {event.subject}", team=Team.PMO
        )
    source = systems[str(event.data["system"])]
    entry = source.to_canonical(native_change(event))
    assert isinstance(entry, TimeEntry)
    return entry


def _post_one(
    erp: Connector, entry: TimeEntry, refs: Mapping[str, str]
) -> UpsertResult | Exception:
    try:
        return erp.upsert("time_entry", entry, refs)
    except Exception as exc:  # noqa: BLE001 - the outcome of this entry alone
        return exc


def _approved(ctx: StepContext) -> TimeEntry:
    entry = _entry(ctx.event, ctx.systems)
    if entry.state is not ApprovalState.APPROVED:
        raise ContractViolation(
            f"time entry {entry.id}",
            [FieldProblem("state", f"must be approved, is {entry.state.value}")],
            team=Team.PMO,
        )
    return entry


def _references(
    ctx: StepContext, entries: Sequence[TimeEntry]
) -> dict[tuple[str, str], str | None]:
    """The ERP ids of the entries' projects, consultants and tasks, in one transaction."""
    wanted: set[tuple[str, str]] = set()
    for entry in entries:
        wanted |= {("project", entry.project_id), ("consultant", entry.consultant_id)}
        if entry.task_id:
            wanted.add(("task", entry.task_id))
    erp = ctx.system_name("erp")
    with ctx.store.transaction("resolving time entry references") as conn:
        return {(kind, cid): xref.native_id(conn, kind, cid, erp) for kind, cid in sorted(wanted)}


def _link_all(ctx: StepContext, posted: Sequence[tuple[TimeEntry, str]]) -> bool:
    """Link the posted entries to their ERP ids and remember what we wrote, in one transaction.

    False if that failed (then each run links its own entry).
    """
    if not posted:
        return True
    erp = ctx.system_name("erp")
    try:
        with ctx.store.transaction("linking the posted entries") as conn:
            xref.link_many(conn, "time_entry", erp, [(e.id, native) for e, native in posted])
            ctx.remember_writes("erp", "time_entry", posted, conn)
    except Exception:  # noqa: BLE001 - then each run links its own entry
        return False
    return True


class PostTime(Flow):
    """Post approved time to the ERP."""

    name: ClassVar[str] = "post_time"
    triggers: ClassVar[frozenset[str]] = frozenset({event_type("time_entry", "approved")})
    required_roles: ClassVar[tuple[str, ...]] = ("erp",)
    priority: ClassVar[Priority] = Priority.TIME
    sources: ClassVar[tuple[tuple[str, str], ...]] = (
        ("psa", "time_entry"),
        ("legacy", "time_entry"),
    )
    retry_policies: ClassVar[Mapping[str, RetryPolicy]] = {
        # A project may still be mobilising: wait for it, patiently but not forever.
        "validate": RetryPolicy(max_attempts=8, base_seconds=2.0, max_seconds=120.0),
    }

    def decide(
        self,
        event: CloudEvent,
        conn: sa.Connection,
        systems: Mapping[str, Connector],
        roles: Mapping[str, str],
    ) -> Decision:
        """One run per time entry; time read from the ERP itself is already there."""
        if event.subject is None:
            return Decision.ignore("event has no subject")
        if _is_native(event) and event.data["system"] == roles.get("erp"):
            return Decision.ignore("time recorded in the ERP itself is billed there")
        return Decision.run(event.subject)

    def hold_keys(self, event: CloudEvent, key: str, systems: Mapping[str, Connector]) -> list[str]:
        """A hold on the entry's project blocks it, as does one on the entry itself."""
        try:
            return [key, _entry(event, systems).project_id]
        except ContractViolation:
            return [key]

    def check_payload(
        self, payload: dict[str, Any], event: CloudEvent, systems: Mapping[str, Connector]
    ) -> None:
        """An edited entry must still map to a valid time entry."""
        edited = event.model_copy(update={"data": {**event.data, "payload": payload}})
        _entry(edited, systems)

    def steps(self) -> list[tuple[str, Step]]:
        """The ordered steps."""
        return [("validate", self.validate), ("post", self.post)]

    def lookups(self) -> Mapping[str, Step]:
        """After a timeout while posting, look the entry up before posting it again."""
        return {"post": self.find_posted}

    def batch_steps(self) -> Mapping[str, BatchStep]:
        """Runs at one step together: validated with one look-up per record, posted in one call."""
        return {"validate": self.validate_many, "post": self.post_many}

    def validate(self, ctx: StepContext) -> dict[str, Any]:
        """Map and check the entry; resolve the ERP's ids of its project and consultant."""
        entry = _approved(ctx)
        return self._resolved(ctx, entry, _references(ctx, [entry]))

    def validate_many(
        self, contexts: Sequence[StepContext]
    ) -> list[dict[str, Any] | BaseException]:
        """``validate`` for many runs: each project, task and consultant is looked up once."""
        entries: list[TimeEntry | BaseException] = []
        for ctx in contexts:
            try:
                entries.append(_approved(ctx))
            except Exception as exc:  # noqa: BLE001 - the outcome of this run alone
                entries.append(exc)
        if not contexts:
            return []
        known = _references(contexts[0], [e for e in entries if isinstance(e, TimeEntry)])
        results: list[dict[str, Any] | BaseException] = []
        for ctx, entry in zip(contexts, entries, strict=True):
            if isinstance(entry, BaseException):
                results.append(entry)
                continue
            try:
                results.append(self._resolved(ctx, entry, known))
            except Exception as exc:  # noqa: BLE001 - the outcome of this run alone
                results.append(exc)
        return results

    def _resolved(
        self, ctx: StepContext, entry: TimeEntry, known: dict[tuple[str, str], str | None]
    ) -> dict[str, Any]:
        erp = ctx.system_name("erp")
        project = known[("project", entry.project_id)]
        employee = known[("consultant", entry.consultant_id)]
        task = known[("task", entry.task_id)] if entry.task_id else None
        if project is None:
            raise DependencyNotReady(
                f"project {entry.project_id} is not set up in {erp} (yet)", team=Team.PMO
            )
        if employee is None:
            employee = ctx.system("erp").find("consultant", entry.consultant_id)
            known[("consultant", entry.consultant_id)] = employee  # once per batch
        if employee is None:
            raise BusinessRuleViolation(
                f"consultant {entry.consultant_id} is not known in {erp}", team=Team.RESOURCING
            )
        refs = {"project": project, "employee": employee}
        if task is not None:
            refs["task"] = task
        return {"entry": entry.model_dump(mode="json"), "refs": refs}

    def post(self, ctx: StepContext) -> dict[str, Any]:
        """Upsert the entry in the ERP."""
        entry = TimeEntry.model_validate(ctx.outputs["validate"]["entry"])
        refs = dict(ctx.outputs["validate"]["refs"])
        result = ctx.system("erp").upsert("time_entry", entry, refs)
        return self._posted(ctx, entry, result.native_id, result.created)

    def post_many(self, contexts: Sequence[StepContext]) -> list[dict[str, Any] | BaseException]:
        """Post the entries of many runs with the ERP's batch method; one outcome per run.

        Without a batch method (the connector keeps the default ``upsert_many``), each entry
        is upserted alone. An entry the ERP refuses fails a batch call as a whole, so then
        every entry is posted alone: the refused one fails its run, the others succeed.
        A retryable failure of the batch call (timeout, outage) fails every run in it.
        """
        if not contexts:
            return []
        erp = contexts[0].system("erp")
        items = [
            (
                TimeEntry.model_validate(ctx.outputs["validate"]["entry"]),
                dict(ctx.outputs["validate"]["refs"]),
            )
            for ctx in contexts
        ]
        outcomes: list[UpsertResult | Exception]
        if type(erp).upsert_many is Connector.upsert_many:
            outcomes = [_post_one(erp, entry, refs) for entry, refs in items]
        else:
            try:
                outcomes = list(erp.upsert_many("time_entry", items))
            except RecordRejected:
                outcomes = [_post_one(erp, entry, refs) for entry, refs in items]
        linked = _link_all(
            contexts[0],
            [
                (entry, outcome.native_id)
                for (entry, _), outcome in zip(items, outcomes, strict=True)
                if not isinstance(outcome, Exception)
            ],
        )
        results: list[dict[str, Any] | BaseException] = []
        for ctx, (entry, _), outcome in zip(contexts, items, outcomes, strict=True):
            if isinstance(outcome, Exception):
                results.append(outcome)
                continue
            try:
                results.append(
                    self._posted(ctx, entry, outcome.native_id, outcome.created, linked=linked)
                )
            except Exception as exc:  # noqa: BLE001 - recording failed for this run only
                results.append(exc)
        return results

    def find_posted(self, ctx: StepContext) -> dict[str, Any]:
        """The entry's output if the ERP already has it, else {} (post it)."""
        entry = TimeEntry.model_validate(ctx.outputs["validate"]["entry"])
        native = ctx.system("erp").find("time_entry", entry.id)
        return {} if native is None else self._posted(ctx, entry, native, False)

    def _posted(
        self, ctx: StepContext, entry: TimeEntry, native: str, created: bool, linked: bool = False
    ) -> dict[str, Any]:
        if not linked:  # (linked: remembered with the link, for the whole batch)
            ctx.remember_write("erp", "time_entry", entry, native)
            with ctx.store.transaction("linking the posted entry") as conn:
                xref.link(conn, "time_entry", entry.id, ctx.system_name("erp"), native)
        posted = ctx.caused(
            event_type("time_entry", "posted"), entry.model_dump(mode="json"), entry.id
        )
        return {"native_id": native, "created": created, "emit": [posted]}
