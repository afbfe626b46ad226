"""Time typed into Tryton (``timesheet.line``) read back as time entries, by polling.

Tryton 8.2 timesheets have no approval step: a line is the consultant's final record once
entered, so every line reads as an approved time entry. The payload is the line as Tryton
sent it plus ``canonical_id`` (our marker, if the line is ours), ``task_canonical_id``,
``project_canonical_id``, ``consultant_canonical_id`` (markers of the task, its project and
the employee's party; None for records a person made) and ``task``/``project`` (work ids).

Deleted lines are not reported: a timesheet line deleted after it was read has been billed
or corrected in Tryton itself.
"""

from __future__ import annotations

from typing import Any

from interlock.connectors.base import ChangePage, NativeChange
from interlock.connectors.tryton import changes, mapping
from interlock.connectors.tryton.changes import Cursor
from interlock.connectors.tryton.project_changes import own_write
from interlock.connectors.tryton.rpc import Record, TrytonRpc

FIELDS = [
    "employee",
    "work",
    "work.origin",
    "date",
    "duration",
    "description",
    "create_uid",
    "write_uid",
    "last_modified_at",
]


def _work_id(origin: Any) -> int | None:
    model, _, native = str(origin or "").partition(",")
    return int(native) if model == "project.work" and native.isdigit() else None


def _markers(rpc: TrytonRpc, works: set[int]) -> dict[int, tuple[str | None, int | None]]:
    """Task work id → (its task marker, its parent project work id)."""
    rows = rpc.read("project.work", sorted(works), ["comment", "parent"])
    return {
        int(r["id"]): (mapping.marked_id(r.get("comment"), "task"), r.get("parent")) for r in rows
    }


def _consultants(rpc: TrytonRpc, employees: set[int]) -> dict[int, str]:
    if not employees:
        return {}
    rows = rpc.read("company.employee", sorted(employees), ["party"])
    parties = {int(r["party"]): int(r["id"]) for r in rows}
    found: dict[int, str] = {}
    for row in rpc.search_read(
        "party.identifier",
        [("party", "in", sorted(parties)), ("code", "like", "[interlock:consultant:%")],
        ["party", "code"],
    ):
        cid = mapping.marked_id(row["code"], "consultant")
        if cid is not None:
            found.setdefault(parties[int(row["party"])], cid)
    return found


def enrich(rpc: TrytonRpc, rows: list[Record]) -> None:
    """Add the derived keys (see the module docstring) to raw ``timesheet.line`` rows."""
    for row in rows:
        row["task"] = _work_id((row.get("work.") or {}).get("origin"))
    tasks = _markers(rpc, {r["task"] for r in rows if r["task"]})
    projects = {parent for _, parent in tasks.values() if parent}
    project_markers = {
        int(r["id"]): mapping.marked_id(r.get("comment"), "project")
        for r in rpc.read("project.work", sorted(projects), ["comment"])
    }
    consultants = _consultants(rpc, {int(r["employee"]) for r in rows if r.get("employee")})
    for row in rows:
        task_marker, parent = tasks.get(row["task"] or 0, (None, None))
        row["project"] = parent
        row["canonical_id"] = mapping.marked_id(row.get("description"), "time_entry")
        row["task_canonical_id"] = task_marker
        row["project_canonical_id"] = project_markers.get(parent or 0)
        row["consultant_canonical_id"] = consultants.get(int(row.get("employee") or 0))


def _to_change(row: Record) -> NativeChange:
    return NativeChange(
        kind="time_entry",
        native_id=str(row["id"]),
        version=changes.version(row),
        changed_at=changes.stamp(row),
        payload=row,
    )


def read(
    rpc: TrytonRpc, cursor: Cursor, limit: int, *, overlap: float, skip_own: bool
) -> ChangePage:
    """One page of timesheet lines changed after ``cursor`` (updated), oldest first."""
    start = changes.since(cursor, overlap)
    domain = [("last_modified_at", ">=", start)] if start else []
    query_limit = limit + len(cursor.seen)
    rows = rpc.search_read(
        "timesheet.line",
        domain,
        FIELDS,
        order=[("last_modified_at", "ASC"), ("id", "ASC")],
        limit=query_limit,
        decode=False,
    )
    new = changes.fresh(cursor, rows)
    page, more = new[:limit], len(new) > limit or len(rows) == query_limit
    changes.advance(cursor, page, overlap)
    kept = [r for r in page if not (skip_own and own_write(r, rpc.user_id))]
    enrich(rpc, kept)
    return ChangePage([_to_change(r) for r in kept], cursor.dump(), more=more)
