"""Canonical Assignment ↔ Kantata workspace allocation. Pure functions.

An assignment is written as one workspace allocation of the consultant's (named) workspace
resource: ``minutes`` is the total over the range, hours per day × working days × 60 (Kantata
allocations carry a total, not a daily figure [KT-WA-CREATE]). Working days are Monday to
Friday; a range with none (a weekend) counts its calendar days instead — an Interlock
assumption, as Kantata's own calendar is per account. The allocation's ``notes`` carry the
marker ``[interlock:<assignment id>]`` and Interlock registers references to the canonical
assignment (``assignment``) and, when it has one, its task (``task``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from interlock.connectors.kantata.ledger import CONSULTANT, linked_id
from interlock.connectors.kantata.mapping import PROJECT, TASK, canonical_ref, marker
from interlock.exceptions import ContractViolation, FieldProblem, Team
from interlock.model import Assignment, canonical_id
from interlock.model.base import validate_contract

Record = dict[str, Any]
ASSIGNMENT = "assignment"


def working_days(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days from ``start`` to ``end`` inclusive; calendar days if none."""
    days = (end - start).days + 1
    weekdays = sum(1 for n in range(days) if (start + dt.timedelta(days=n)).weekday() < 5)
    return weekdays or days


def total_minutes(assignment: Assignment) -> int:
    """The allocation's total: hours per day × working days × 60, to the nearest minute."""
    days = working_days(assignment.start_date, assignment.end_date)
    total = assignment.hours_per_day * days * 60
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocation_fields(assignment: Assignment, resource_id: str, *, hard: bool) -> Record:
    """Allocation attributes Interlock keeps in step with the canonical assignment."""
    return {
        "resource_id": resource_id,
        "start_date": assignment.start_date.isoformat(),
        "end_date": assignment.end_date.isoformat(),
        "minutes": total_minutes(assignment),
        "hard": hard,
    }


def new_allocation(assignment: Assignment, resource_id: str, *, hard: bool) -> Record:
    """Body of the allocation create: the kept fields and the marker."""
    return {**allocation_fields(assignment, resource_id, hard=hard), "notes": marker(assignment.id)}


def allocation_changes(current: Record, desired: Mapping[str, Any]) -> Record:
    """The desired fields that differ from the stored allocation (what a PUT must send)."""
    changed: Record = {}
    for name, value in desired.items():
        if name == "resource_id":
            differs = str(current.get("workspace_resource_id")) != str(value)
        else:
            differs = current.get(name) != value
        if differs:
            changed[name] = value
    return changed


def to_assignment(payload: Mapping[str, Any], *, system: str, service_name: str) -> Assignment:
    """The canonical assignment of an allocation change. Raises ContractViolation (resourcing).

    The payload holds the allocation (``record``), its workspace ``resource`` and Interlock's
    ``references`` (``own``, ``workspace``, ``user``). An unnamed resource has no consultant.
    """
    record: Record = payload["record"]
    resource: Record = payload.get("resource") or {}
    native_id = str(record["id"])
    own = payload.get("references", {}).get("own", [])
    subject = f"Kantata workspace allocation {native_id}"
    consultant = linked_id(
        payload,
        "user",
        resource.get("user_id"),
        kind=CONSULTANT,
        system=system,
        service_name=service_name,
    )
    if consultant is None:
        problem = FieldProblem(
            "consultant_id", f"allocation {native_id} books an unnamed resource, not a person"
        )
        raise ContractViolation(subject, [problem], team=Team.RESOURCING)
    start, end, minutes = record.get("start_date"), record.get("end_date"), record.get("minutes")
    per_day = None
    if start and end and minutes is not None:
        days = working_days(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
        per_day = Decimal(int(minutes)) / 60 / days
    data: Record = {
        "id": canonical_ref(own, service_name, ASSIGNMENT)
        or canonical_id(ASSIGNMENT, system, native_id),
        "project_id": linked_id(
            payload,
            "workspace",
            resource.get("workspace_id"),
            kind=PROJECT,
            system=system,
            service_name=service_name,
        ),
        "consultant_id": consultant,
        "task_id": canonical_ref(own, service_name, TASK),
        "start_date": start,
        "end_date": end,
        "hours_per_day": per_day,
    }
    return validate_contract(Assignment, data, subject=subject, team=Team.RESOURCING)
