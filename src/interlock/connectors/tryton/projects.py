"""Projects and their tasks (``project.work``) and allocations (``project.allocation``).

A project is written with its tasks in one call (create, or write with one2many
operations), so Tryton never holds half of it. Only values that differ are written: a
write that changes nothing would still move ``last_modified_at``.
"""

from __future__ import annotations

from typing import Any

from interlock.connectors.base import UpsertResult
from interlock.connectors.tryton import mapping
from interlock.connectors.tryton.company import Company
from interlock.connectors.tryton.rpc import TrytonRpc
from interlock.exceptions import RecordRejected
from interlock.model import Assignment, Project, ProjectStatus, Task

_TASK_FIELDS = ["name", "product", "list_price", "effort_duration", "comment", "status", "progress"]


def find_work(rpc: TrytonRpc, kind: str, cid: str) -> int | None:
    """The ``project.work`` (``kind`` project or task) carrying the marker ``cid``."""
    found = rpc.search(
        "project.work",
        [("comment", "like", mapping.contains(kind, cid)), ("type", "=", kind)],
        order=[("id", "ASC")],
        limit=1,
    )
    return found[0] if found else None


def tasks_of(rpc: TrytonRpc, project: int) -> dict[str, dict[str, Any]]:
    """Canonical task id → row of the marked tasks under the project ``project``."""
    rows = rpc.search_read(
        "project.work", [("parent", "=", project), ("type", "=", "task")], _TASK_FIELDS
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        cid = mapping.marked_id(row.get("comment"), "task")
        if cid is not None:
            found.setdefault(cid, row)
    return found


def _check_rates(rpc: TrytonRpc, company: Company, project: Project) -> None:
    for index, task in enumerate(project.tasks):
        if task.rate is not None and task.rate.currency != company.currency:
            raise RecordRejected(
                rpc.system,
                f"project {project.id}: task {task.id} is priced in {task.rate.currency}, "
                f"but the Tryton company works in {company.currency}",
                fields=(f"tasks.{index}.rate.currency",),
            )


def _new_task(task: Task, company: Company) -> dict[str, Any]:
    return {
        **mapping.task_values(task, product=company.service_product),
        "type": "task",
        "company": company.id,
        "timesheet_available": True,
        "comment": mapping.task_comment(task),
    }


def _changed(wanted: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if row.get(k) != v}


def _task_operations(
    project: Project,
    existing: dict[str, dict[str, Any]],
    company: Company,
    finished: dict[str, Any],
) -> list[list[Any]]:
    """One2many operations bringing the tasks under the project in line with ``project``."""
    operations: list[list[Any]] = []
    for task in project.tasks:
        if task.id in existing:
            wanted = {**mapping.task_values(task, product=company.service_product), **finished}
            diff = _changed(wanted, existing[task.id])
            if diff:
                operations.append(["write", [existing[task.id]["id"]], diff])
    if finished:  # Tryton closes a project only once all its tasks are closed
        wanted_ids = {t.id for t in project.tasks}
        others = [r["id"] for cid, r in existing.items() if cid not in wanted_ids]
        operations += [["write", others, finished]] if others else []
    new = [{**_new_task(t, company), **finished} for t in project.tasks if t.id not in existing]
    return [*operations, ["create", new]] if new else operations


def upsert_project(
    rpc: TrytonRpc, company: Company, project: Project, party: int | None
) -> UpsertResult:
    """Create or update the project and its tasks; children maps task ids to work ids.

    Tasks no longer in the canonical project are left alone (they may carry time), unless
    the project is closed: Tryton closes a project only after all its tasks.
    """
    _check_rates(rpc, company, project)
    done = project.status == ProjectStatus.CLOSED
    # Tryton puts a work in a finished status only at full progress.
    finished: dict[str, Any] = {"status": company.done_status, "progress": 1.0} if done else {}
    status = company.done_status if done else company.open_status
    values = mapping.project_values(project, company=company.id, party=party, status=status)
    values.update(finished)
    if party is None:
        del values["party"]  # unknown here: never clear one a person set
    work = find_work(rpc, "project", project.id)
    created = work is None
    if work is None:
        values["comment"] = mapping.marker("project", project.id)
        tasks = [{**_new_task(t, company), **finished} for t in project.tasks]
        (work,) = rpc.create("project.work", [{**values, "children": [["create", tasks]]}])
    else:
        (row,) = rpc.read("project.work", [work], list(values))
        changes = _changed(values, row)
        operations = _task_operations(project, tasks_of(rpc, work), company, finished)
        if operations:
            changes["children"] = operations
        rpc.write("project.work", [work], changes)
    children = {cid: str(row["id"]) for cid, row in tasks_of(rpc, work).items()}
    return UpsertResult(str(work), created=created, children=children)


def upsert_allocation(
    rpc: TrytonRpc, company: Company, assignment: Assignment, work: int, employee: int
) -> UpsertResult:
    """Allocate the employee to the work for the assignment's share of a working day.

    (work, employee) is the key: Tryton allocates an employee once per work, and an
    allocation has no field to carry a marker. The assignment's dates are not kept:
    allocations have none; Tryton plans dates from effort and allocations.
    """
    percentage = mapping.allocation_percentage(assignment.hours_per_day, company.work_day_hours)
    found = rpc.search_read(
        "project.allocation",
        [("work", "=", work), ("employee", "=", employee)],
        ["percentage"],
        order=[("id", "ASC")],
        limit=1,
    )
    if found:
        if abs(float(found[0]["percentage"]) - percentage) >= 0.005:
            rpc.write("project.allocation", [found[0]["id"]], {"percentage": percentage})
        return UpsertResult(str(found[0]["id"]), created=False)
    values = {"work": work, "employee": employee, "percentage": percentage}
    (allocation,) = rpc.create("project.allocation", [values])
    return UpsertResult(str(allocation), created=True)
