"""Canonical records ↔ Float people, projects and tasks (allocations). Pure functions.

Native shapes Interlock writes:

- A project is a Float project: ``name``, ``start_date``/``end_date``, ``status`` (setting up
  → 1 tentative, active and on hold → 2 confirmed, closed → 3 completed, and ``active`` 0),
  ``project_code`` = the canonical id when it fits Float's 32 characters, and ``client_id``
  when the caller passes ``refs["customer"]``. Budgets are not written: the meaning of
  ``budget_type`` codes differs between sources [3P].
- A staffing demand is one or more tasks of a placeholder person named
  ``Placeholder: <role>`` (``people_type_id`` 3), status 1 (tentative). Hours per day =
  demand hours / working days (Monday to Friday) between the dates, rounded half-up to two
  decimals (at least 0.01); a demand needing more than ``placeholder_day_hours`` a day is
  split into n parallel tasks of ``hours / days / n`` each, so the hours scheduled may differ
  from the demand by the rounding (≤ 0.005 h × days × n).
- An assignment is a task of the consultant's person with ``hours`` = hours per day
  (two decimals), status 2 (confirmed).
- Float has no external ids. Every record Interlock creates carries a marker in ``notes``,
  ``[interlock:<kind>:<canonical id>]`` (``#<n>`` added for the n-th split of a demand), sent
  in the create request itself, so a create whose answer was lost is found by its marker.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from interlock.exceptions import ContractViolation, FieldProblem, Team
from interlock.model import (
    Assignment,
    Consultant,
    Project,
    ProjectStatus,
    StaffingDemand,
    canonical_id,
    validate_contract,
)

Record = dict[str, Any]
PLACEHOLDER_TYPE = 3
TENTATIVE, CONFIRMED, COMPLETE = 1, 2, 3
_CENT = Decimal("0.01")
_MARKER = re.compile(r"\[interlock:([a-z_]+):([A-Za-z0-9_.:-]+?)(?:#(\d+))?\]")
_STATUS = {
    ProjectStatus.SETTING_UP: TENTATIVE,
    ProjectStatus.ACTIVE: CONFIRMED,
    ProjectStatus.ON_HOLD: CONFIRMED,
    ProjectStatus.CLOSED: COMPLETE,
}


def marker(kind: str, canonical: str, slot: int = 1) -> str:
    """The tag in ``notes`` by which Interlock finds the record it wrote for ``canonical``."""
    return (
        f"[interlock:{kind}:{canonical}]" if slot == 1 else f"[interlock:{kind}:{canonical}#{slot}]"
    )


def read_marker(notes: Any) -> tuple[str, str, int] | None:
    """(kind, canonical id, slot) of the first marker in ``notes``, or None."""
    found = _MARKER.search(str(notes or ""))
    return (found[1], found[2], int(found[3] or 1)) if found else None


def placeholder_name(role: str) -> str:
    """The name of the placeholder person standing in for ``role``."""
    return f"Placeholder: {role}"


def new_placeholder(role: str) -> Record:
    """Body that creates the placeholder person of ``role``."""
    return {"name": placeholder_name(role), "job_title": role, "people_type_id": PLACEHOLDER_TYPE}


def project_fields(project: Project, client_id: str | None = None) -> Record:
    """Project attributes Interlock keeps in step (the marker is added on create only)."""
    fields: Record = {
        "name": project.name,
        "start_date": project.start_date.isoformat(),
        "end_date": project.end_date.isoformat(),
        "status": _STATUS[project.status],
        "active": 0 if project.status == ProjectStatus.CLOSED else 1,
    }
    if len(project.id) <= 32:
        fields["project_code"] = project.id
    if client_id is not None:
        fields["client_id"] = int(client_id)
    return fields


def working_days(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days from ``start`` to ``end``, both included."""
    days = (end - start).days + 1
    weeks, rest = divmod(days, 7)
    extra = sum(1 for i in range(rest) if (start.weekday() + i) % 7 < 5)
    return weeks * 5 + extra


def demand_split(demand: StaffingDemand, day_hours: Decimal) -> tuple[int, Decimal]:
    """(parallel tasks, hours per day of each) for a demand; see the module notes."""
    days = working_days(demand.start_date, demand.end_date)
    if days == 0:
        raise ContractViolation(
            f"staffing demand {demand.id}",
            [FieldProblem("start_date", "the demand's dates hold no working day (Mon-Fri)")],
            team=Team.RESOURCING,
        )
    per_day = demand.hours / days
    slots = max(1, math.ceil(per_day / day_hours))
    each = (per_day / slots).quantize(_CENT, rounding=ROUND_HALF_UP)
    return slots, max(each, _CENT)


def demand_task(
    demand: StaffingDemand, project_id: str, person_id: int, hours: Decimal, slot: int
) -> Record:
    """Fields of the ``slot``-th task of a demand."""
    return {
        "project_id": int(project_id),
        "people_id": person_id,
        "start_date": demand.start_date.isoformat(),
        "end_date": demand.end_date.isoformat(),
        "hours": float(hours),
        "status": TENTATIVE,
        "notes": marker("staffing_demand", demand.id, slot),
    }


def assignment_task(assignment: Assignment, project_id: str, person_id: str) -> Record:
    """Fields of an assignment's task."""
    return {
        "project_id": int(project_id),
        "people_id": int(person_id),
        "start_date": assignment.start_date.isoformat(),
        "end_date": assignment.end_date.isoformat(),
        "hours": float(assignment.hours_per_day.quantize(_CENT, rounding=ROUND_HALF_UP)),
        "status": CONFIRMED,
        "notes": marker("assignment", assignment.id),
    }


def changes(current: Record, desired: Record) -> Record:
    """The desired fields whose value differs (what a PATCH must send).

    ``notes`` only counts when the current notes lost the marker: text a planner added
    around it is kept.
    """
    changed: Record = {}
    for name, value in desired.items():
        now = current.get(name)
        if name == "notes":
            if str(value) not in str(now or ""):
                changed[name] = f"{now} {value}".strip() if now else value
        elif name == "hours":
            if now is None or Decimal(str(now)) != Decimal(str(value)):
                changed[name] = value
        elif now != value:
            changed[name] = value
    return changed


def to_assignment(task: Record, *, system: str) -> Assignment:
    """The canonical assignment of a Float task of a real person.

    The id is the one in Interlock's marker; a task Float users made (or a placeholder task
    they handed to a person) gets an id derived from the task id, and the demand it came
    from, if any, as ``demand_id``.
    """
    task_id = str(task.get("task_id"))
    found = read_marker(task.get("notes"))
    person = task.get("people_id")
    if person is None and len(task.get("people_ids") or []) == 1:
        person = task["people_ids"][0]
    if person is None:
        raise ContractViolation(
            f"Float task {task_id}",
            [FieldProblem("consultant_id", "the task is not for exactly one person")],
            team=Team.RESOURCING,
        )
    data: Record = {
        "id": found[1]
        if found and found[0] == "assignment"
        else canonical_id("assignment", system, task_id),
        "project_id": canonical_id("project", system, str(task.get("project_id"))),
        "consultant_id": canonical_id("consultant", system, str(person)),
        "demand_id": found[1] if found and found[0] == "staffing_demand" else None,
        "start_date": task.get("start_date"),
        "end_date": task.get("end_date"),
        "hours_per_day": Decimal(str(task.get("hours"))),
    }
    return validate_contract(
        Assignment, data, subject=f"Float task {task_id}", team=Team.RESOURCING
    )


def to_consultant(person: Record, *, system: str) -> Consultant:
    """The canonical consultant of a Float person; weekly capacity from ``work_days_hours``."""
    week = person.get("work_days_hours")
    capacity = sum(Decimal(str(h)) for h in week) if isinstance(week, list) and week else None
    data: Record = {
        "id": canonical_id("consultant", system, str(person.get("people_id"))),
        "name": person.get("name"),
        "email": person.get("email"),
        "role": person.get("job_title"),
        "skills": tuple(t["name"] for t in person.get("tags") or [] if isinstance(t, dict)),
        "active": bool(person.get("active", 1)),
    }
    if capacity:
        data["capacity_hours_per_week"] = capacity
    return validate_contract(
        Consultant, data, subject=f"Float person {person.get('people_id')}", team=Team.RESOURCING
    )
