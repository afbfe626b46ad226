"""What each Float resource accepts and how it is stored: one builder per table.

A builder reads a request body (create) or a body over the current record (update) through
``Checks`` and returns the stored fields, without id and time stamps, or fails with a 422.
Shapes follow vendor-apis.md §3.4; codes marked [3P] there: ``people_type_id`` 1 employee,
2 contractor, 3 placeholder; ``employee_type`` 1 full-time, 0 part-time; task ``status``
0 draft, 1 tentative, 2 confirmed, 3 complete; project ``status`` 0 draft .. 4 canceled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from interlock.sandbox.float_.checks import Checks, label

Record = dict[str, Any]
DEFAULT_WEEK = [0, 8, 8, 8, 8, 8, 0]  # hours Sunday..Saturday


class Lookup(Protocol):
    """Read access to the live records while a body is checked."""

    def live(self, table: str, record_id: int) -> Record | None: ...

    def rows(self, table: str) -> Iterable[Record]: ...


Builder = Callable[[Checks, Lookup, int | None], Record]


@dataclass(frozen=True)
class Table:
    """A resource: its URL segment, id field, builder, and whether the API writes it."""

    name: str
    id_field: str
    build: Builder
    writable: bool = True


def _exists(db: Lookup, table: str) -> Callable[[int], bool]:
    return lambda record_id: db.live(table, record_id) is not None


def _flag(c: Checks, field: str, default: int) -> int:
    value = c.value(field, default)
    if isinstance(value, bool):
        return int(value)
    if value in (0, 1, "0", "1"):
        return int(value)
    c.fail(field, f"{label(field)} must be either 0 or 1.")
    return default


def _rate(c: Checks, field: str) -> str | None:
    value = c.value(field)
    if value is None or value == "":
        return None
    number = c.number(field, above=-0.0000001)
    return None if number is None else f"{number:.4f}"


def person(c: Checks, db: Lookup, self_id: int | None) -> Record:
    email = c.email("email")
    if email is not None:
        taken = any(
            str(p.get("email") or "").lower() == email.lower() and p["people_id"] != self_id
            for p in db.rows("people")
        )
        if taken:
            c.fail("email", f'Email "{email}" has already been taken.')
    department = None
    department_id = c.reference("department_id", _exists(db, "departments"))
    if "department_id" not in c.body and c.current.get("department"):
        department = c.current["department"]
    elif department_id is not None:
        found = db.live("departments", department_id) or {}
        department = {k: found.get(k) for k in ("department_id", "name", "parent_id")}
    week = c.value("work_days_hours", DEFAULT_WEEK)
    if not (
        isinstance(week, list)
        and len(week) == 7
        and all(isinstance(h, int | float) and 0 <= h <= 24 for h in week)
    ):
        c.fail("work_days_hours", "Work Days Hours must be 7 numbers of hours, Sunday first.")
    start, end = c.period(required=False)
    return {
        "name": c.text("name", required=True),
        "email": email,
        "job_title": c.text("job_title"),
        "role_id": c.integer("role_id"),
        "department": department,
        "notes": c.text("notes", most=65535),
        "auto_email": _flag(c, "auto_email", 0),
        "employee_type": c.integer("employee_type", default=1, choices=(0, 1)),
        "work_days_hours": week,
        "active": _flag(c, "active", 1),
        "people_type_id": c.integer("people_type_id", default=1, choices=(1, 2, 3)),
        "tags": c.tags(),
        "start_date": start.isoformat() if start else None,
        "end_date": end.isoformat() if end else None,
        "default_hourly_rate": _rate(c, "default_hourly_rate"),
    }


def department(c: Checks, db: Lookup, self_id: int | None) -> Record:
    return {
        "name": c.text("name", required=True),
        "parent_id": c.reference("parent_id", _exists(db, "departments")),
    }


def client(c: Checks, db: Lookup, self_id: int | None) -> Record:
    return {"name": c.text("name", required=True)}


def project(c: Checks, db: Lookup, self_id: int | None) -> Record:
    start, end = c.period(required=False)
    tags = c.value("tags", [])
    if not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        c.fail("tags", "Tags must be a list of names.")
    budget_total = c.value("budget_total")
    if budget_total not in (None, ""):
        budget_total = c.number("budget_total", above=-0.0000001)
    return {
        "name": c.text("name", required=True),
        "client_id": c.reference("client_id", _exists(db, "clients")),
        "color": c.color("color") or "3451B2",
        "project_code": c.text("project_code", most=32),
        "notes": c.text("notes", most=65535) or "",
        "tags": tags,
        "budget_type": c.integer("budget_type", default=0, choices=range(4)),
        "budget_total": budget_total if budget_total != "" else None,
        "non_billable": _flag(c, "non_billable", 0),
        "status": c.integer("status", default=2, choices=range(5)),
        "active": _flag(c, "active", 1),
        "project_manager": c.integer("project_manager"),
        "start_date": start.isoformat() if start else None,
        "end_date": end.isoformat() if end else None,
    }


def people_of(c: Checks, db: Lookup) -> tuple[int | None, list[int] | None]:
    """``people_id``, else ``people_ids`` (ignored when ``people_id`` is set [3P])."""
    exists = _exists(db, "people")
    if c.value("people_id") not in (None, ""):
        return c.reference("people_id", exists), None
    ids = c.value("people_ids")
    if not isinstance(ids, list) or not ids:
        c.fail("people_id", "People ID cannot be blank.")
        return None, None
    if not all(isinstance(i, int) and not isinstance(i, bool) and exists(i) for i in ids):
        c.fail("people_ids", "People Ids is invalid.")
        return None, None
    return (ids[0], None) if len(ids) == 1 else (None, list(ids))


def task(c: Checks, db: Lookup, self_id: int | None) -> Record:
    project_id = c.reference("project_id", _exists(db, "projects"), required=True)
    people_id, people_ids = people_of(c, db)
    start, end = c.period()
    hours = c.number("hours", required=True, most=24)
    billable = 1
    if project_id is not None and (db.live("projects", project_id) or {}).get("non_billable"):
        billable = 0
    repeat_end = c.date("repeat_end_date")
    return {
        "project_id": project_id,
        "phase_id": c.integer("phase_id", default=0),
        "task_meta_id": c.integer("task_meta_id", default=0),
        "people_id": people_id,
        "people_ids": people_ids,
        "start_date": start.isoformat() if start else None,
        "end_date": end.isoformat() if end else None,
        "start_time": c.text("start_time", most=5),
        "hours": hours,
        "billable": _flag(c, "billable", billable),
        "status": c.integer("status", default=2, choices=range(4)),
        "name": c.text("name") or "",
        "notes": c.text("notes", most=65535) or "",
        "repeat_state": c.integer("repeat_state", default=0, choices=range(10)),
        "repeat_end_date": repeat_end.isoformat() if repeat_end else None,
        "parent_task_id": c.integer("parent_task_id"),
        "root_task_id": c.integer("root_task_id"),
        "created_by": 1,
        "modified_by": 1,
    }


def timeoff(c: Checks, db: Lookup, self_id: int | None) -> Record:
    type_id = c.reference("timeoff_type_id", _exists(db, "timeoff-types"), required=True)
    people_id, people_ids = people_of(c, db)
    start, end = c.period()
    full_day = _flag(c, "full_day", 0)
    hours = None if full_day else c.number("hours", required=True, most=24)
    # Both spellings are in use by clients [3P]; ``timeoff_notes`` is the stored one.
    notes_field = "notes" if "notes" in c.body and "timeoff_notes" not in c.body else None
    repeat_end = c.date("repeat_end_date")
    return {
        "timeoff_type_id": type_id,
        "people_ids": people_ids or ([people_id] if people_id is not None else []),
        "start_date": start.isoformat() if start else None,
        "end_date": end.isoformat() if end else None,
        "start_time": c.text("start_time", most=5),
        "hours": hours,
        "full_day": full_day,
        "timeoff_notes": c.text(notes_field or "timeoff_notes", most=65535) or "",
        "repeat_state": c.integer("repeat_state", default=0, choices=range(10)),
        "repeat_end_date": repeat_end.isoformat() if repeat_end else None,
        "status": c.integer("status", default=2, choices=(1, 2)),
    }


def timeoff_type(c: Checks, db: Lookup, self_id: int | None) -> Record:
    return {
        "timeoff_type_name": c.text("timeoff_type_name", required=True),
        "color": c.color("color") or "8C8C8C",
        "active": _flag(c, "active", 1),
    }


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("people", "people_id", person),
        Table("departments", "department_id", department),
        Table("clients", "client_id", client),
        Table("projects", "project_id", project),
        Table("tasks", "task_id", task),
        Table("timeoffs", "timeoff_id", timeoff),
        Table("timeoff-types", "timeoff_type_id", timeoff_type),
    )
}
"""URL segment → table. Deleting a person or project takes their tasks and time off along."""
