"""Approved time as ``timesheet.line`` records on the task's ``timesheet.work``.

The marker ends the line's description. One entry is found by its exact marker; a batch
is found with one search over the batch's employees and dates, so a replayed batch costs
one search and creates only what is missing, in one call.
"""

from __future__ import annotations

from collections.abc import Sequence

from interlock.connectors.base import UpsertResult
from interlock.connectors.tryton import mapping
from interlock.connectors.tryton.company import Company
from interlock.connectors.tryton.rpc import TrytonRpc
from interlock.exceptions import RecordRejected
from interlock.model import TimeEntry

_ANY_MARKER = r"%[interlock:time\_entry:%"


class TimesheetWorks:
    """Task work id → its ``timesheet.work`` id, read once per task."""

    def __init__(self, rpc: TrytonRpc) -> None:
        self.rpc = rpc
        self._known: dict[int, int] = {}

    def of(self, tasks: Sequence[int]) -> dict[int, int]:
        """The timesheet works of ``tasks``; RecordRejected for a task without one."""
        missing = sorted(set(tasks) - set(self._known))
        for row in self.rpc.read("project.work", missing, ["timesheet_works", "name"]):
            if not row["timesheet_works"]:
                raise RecordRejected(
                    self.rpc.system,
                    f"task {row['name']!r} (project.work {row['id']}) is not available on "
                    "timesheets",
                    fields=("task_id",),
                )
            self._known[int(row["id"])] = int(row["timesheet_works"][0])
        unknown = [t for t in missing if t not in self._known]
        if unknown:
            raise RecordRejected(self.rpc.system, f"no task work {unknown[0]}", fields=("task_id",))
        return {t: self._known[t] for t in tasks}


def find_line(rpc: TrytonRpc, cid: str) -> int | None:
    """The timesheet line of the time entry ``cid``, or None."""
    found = rpc.search(
        "timesheet.line",
        [("description", "like", mapping.contains("time_entry", cid))],
        order=[("id", "ASC")],
        limit=1,
    )
    return found[0] if found else None


def upsert_line(
    rpc: TrytonRpc,
    company: Company,
    works: TimesheetWorks,
    entry: TimeEntry,
    task: int,
    employee: int,
) -> UpsertResult:
    """Create or update the timesheet line of one time entry."""
    values = mapping.timesheet_values(
        entry, company=company.id, employee=employee, work=works.of([task])[task]
    )
    line = find_line(rpc, entry.id)
    if line is None:
        (line,) = rpc.create("timesheet.line", [values])
        return UpsertResult(str(line), created=True)
    (row,) = rpc.read("timesheet.line", [line], list(values))
    changed = {k: v for k, v in values.items() if row.get(k) != v}
    rpc.write("timesheet.line", [line], changed)
    return UpsertResult(str(line), created=False)


def post_lines(
    rpc: TrytonRpc,
    company: Company,
    works: TimesheetWorks,
    entries: Sequence[tuple[TimeEntry, int, int]],
) -> dict[str, UpsertResult]:
    """Create the lines of the entries not in Tryton yet, in one call; results by entry id.

    Existing lines are found by one search over the batch's employees and dates: an entry
    that moved to another consultant or day since it was posted is not recognised here
    (``upsert`` finds it by its marker alone).
    """
    if not entries:
        return {}
    timesheet_work = works.of(sorted({task for _, task, _ in entries}))
    dates = [entry.date for entry, _, _ in entries]
    domain = [
        ("employee", "in", sorted({employee for _, _, employee in entries})),
        ("date", ">=", min(dates)),
        ("date", "<=", max(dates)),
        ("description", "like", _ANY_MARKER),
    ]
    posted: dict[str, UpsertResult] = {}
    for row in rpc.search_read("timesheet.line", domain, ["description"], order=[("id", "ASC")]):
        cid = mapping.marked_id(row["description"], "time_entry")
        if cid is not None:
            posted.setdefault(cid, UpsertResult(str(row["id"]), created=False))
    todo: dict[str, tuple[TimeEntry, int, int]] = {}
    for entry, task, employee in entries:
        if entry.id not in posted:
            todo.setdefault(entry.id, (entry, task, employee))
    values = [
        mapping.timesheet_values(e, company=company.id, employee=emp, work=timesheet_work[t])
        for e, t, emp in todo.values()
    ]
    created = rpc.create("timesheet.line", values)
    for cid, line in zip(todo, created, strict=True):
        posted[cid] = UpsertResult(str(line), created=True)
    return {entry.id: posted[entry.id] for entry, _, _ in entries}
