"""The emulated Kantata record types: how each is created, changed, guarded and cascaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from interlock.sandbox.kantata import ledger, staffing
from interlock.sandbox.kantata import records as rec
from interlock.sandbox.kantata.records import Lookup, Record


@dataclass(frozen=True)
class Write:
    """What a record builder may know: the new id, the time and the account's records.

    Attributes:
        record_id: Id of the record being created (unused on change).
        now: Kantata-style timestamp of the write.
        find: Finds a stored record by (type, id).
        rows: Every record of a type, including those of the batch being created.
        acting_user: The user the request acts as (the integration user).
    """

    record_id: str
    now: str
    find: Lookup
    rows: Callable[[str], list[Record]]
    acting_user: str | None


Builder = Callable[[Record, Write], Record]
Changer = Callable[[Record, Record, Write], Record]


@dataclass(frozen=True)
class Table:
    """One record type of the API.

    Attributes:
        first_id: First id handed out (ids are per type, as in Kantata).
        new: Builds a record from a create body; None when the API cannot create it.
        change: Applies an update body; None when the API cannot update it.
        wrapper: Singular key of create/update bodies and the bulk-create maximum.
        guard_delete: Raises ApiError when the record may not be deleted.
    """

    first_id: int
    new: Builder | None = None
    change: Changer | None = None
    wrapper: tuple[str, int] | None = None
    guard_delete: Callable[[Record, Lookup], None] | None = None


def _new_story(body: Record, w: Write) -> Record:
    workspace_id = str(body.get("workspace_id") or "")
    position = 1 + sum(1 for s in w.rows("stories") if s["workspace_id"] == workspace_id)
    return rec.new_story(body, record_id=w.record_id, now=w.now, position=position, find=w.find)


TABLES: dict[str, Table] = {
    "workspaces": Table(
        1001,
        new=lambda body, w: rec.new_workspace(body, record_id=w.record_id, now=w.now),
        change=lambda record, body, w: rec.change_workspace(record, body, now=w.now),
        wrapper=("workspace", 100),
    ),
    "stories": Table(
        5001,
        new=_new_story,
        change=lambda record, body, w: rec.change_story(record, body, now=w.now, find=w.find),
        wrapper=("story", 300),
    ),
    "users": Table(1),
    "external_references": Table(9001),
    "time_entries": Table(
        70001,
        new=ledger.new_time_entry,
        change=ledger.change_time_entry,
        wrapper=("time_entry", 100),
        guard_delete=ledger.guard_delete("time entry", "timesheet_submissions"),
    ),
    "expenses": Table(
        80001,
        new=ledger.new_expense,
        change=ledger.change_expense,
        wrapper=("expense", 100),
        guard_delete=ledger.guard_delete("expense", "expense_report_submissions"),
    ),
    "workspace_resources": Table(
        3001,
        new=staffing.new_resource,
        change=staffing.change_resource,
        # Assumption: the bulk maximum of workspace resources was not documented.
        wrapper=("workspace_resource", 100),
    ),
    "workspace_allocations": Table(
        4001,
        new=staffing.new_allocation,
        change=staffing.change_allocation,
        wrapper=("workspace_allocation", 200),
    ),
    "assignments": Table(
        6001,
        new=staffing.new_assignment,
        change=staffing.change_assignment,
        # Assumption: the bulk maximum of assignments was not documented.
        wrapper=("assignment", 100),
    ),
    "timesheet_submissions": Table(7001),
    "expense_report_submissions": Table(7501),
}

DEPENDENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "workspaces": (
        ("stories", "workspace_id"),
        ("time_entries", "workspace_id"),
        ("expenses", "workspace_id"),
        ("workspace_resources", "workspace_id"),
        ("timesheet_submissions", "workspace_id"),
    ),
    "stories": (("assignments", "story_id"),),
    "workspace_resources": (("workspace_allocations", "workspace_resource_id"),),
}
"""What a hard delete takes with it: (type, field naming the deleted record)."""
