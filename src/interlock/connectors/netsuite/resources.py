"""Consultants and their bookings ↔ NetSuite employees and resource allocations. Pure.

Native shapes we chose:

* employee: ``firstName`` / ``lastName`` = the name split before its last word (one word:
  both), ``email``, ``title`` = role, ``laborCost`` = cost rate (NetSuite keeps it in the
  subsidiary's currency; the currency is not checked), ``subsidiary`` = the configured one,
  ``isJobResource`` = true, ``isInactive`` = not active.
* resourceAllocation: ``allocationResource`` = the employee, ``project`` = the job,
  ``projectTask`` = the task (or cleared), ``startDate`` / ``endDate``, ``allocationAmount``
  = hours per day as a percent of an 8-hour day with ``allocationUnit`` P, ``allocationType``
  1 (hard). Interlock assumption: NetSuite's own conversion uses the resource's work calendar.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from interlock.connectors.netsuite.wire import (
    Record,
    decimal,
    linked_id,
    number,
    own_id,
    ref,
    ref_id,
)
from interlock.exceptions import Team
from interlock.model import Assignment, Consultant, validate_contract

WORKDAY_HOURS = Decimal(8)


def split_name(name: str) -> tuple[str, str]:
    """(first, last) name: the last word is the last name; one word is both."""
    first, _, last = name.strip().rpartition(" ")
    return (first, last) if first else (last, last)


def consultant_to_native(consultant: Consultant, *, subsidiary_id: str) -> dict[str, Any]:
    """The body of ``PUT employee/eid:<consultant.id>``."""
    first, last = split_name(consultant.name)
    body: dict[str, Any] = {
        "firstName": first,
        "lastName": last,
        "email": consultant.email,
        "title": consultant.role,
        "subsidiary": {"id": subsidiary_id},
        "isJobResource": True,
        "isInactive": not consultant.active,
    }
    if consultant.cost_rate is not None:
        body["laborCost"] = number(consultant.cost_rate.amount)
    return body


def consultant_from_native(record: Record, system: str) -> Consultant:
    """A consultant from an employee record. The cost rate is not read (no currency)."""
    names = (record.get("firstName"), record.get("lastName"))
    name = " ".join(dict.fromkeys(n for n in names if n)) or record.get("entityId")
    data = {
        "id": own_id("consultant", system, record),
        "name": name,
        "email": record.get("email"),
        "role": record.get("title"),
        "active": not record.get("isInactive", False),
    }
    return validate_contract(
        Consultant, data, subject=f"netsuite employee {record.get('id')}", team=Team.RESOURCING
    )


def assignment_to_native(
    assignment: Assignment, *, employee_id: str, project_id: str, task_id: str | None
) -> dict[str, Any]:
    """The body of ``PUT resourceAllocation/eid:<assignment.id>``."""
    percent = (assignment.hours_per_day / WORKDAY_HOURS * 100).quantize(Decimal("0.0001"))
    return {
        "allocationResource": {"id": employee_id},
        "project": {"id": project_id},
        "projectTask": ref(task_id),
        "startDate": assignment.start_date.isoformat(),
        "endDate": assignment.end_date.isoformat(),
        "allocationAmount": number(percent),
        "allocationUnit": {"id": "P"},
        "allocationType": {"id": "1"},
    }


def assignment_from_native(record: Record, system: str) -> Assignment:
    """An assignment from a resource allocation (hours per day from its percent of time)."""
    percent = decimal(record.get("percentOfTime"))
    if percent is None and ref_id(record.get("allocationUnit")) == "P":
        percent = decimal(record.get("allocationAmount"))
    per_day = None
    if percent is not None:
        per_day = (percent * WORKDAY_HOURS / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    data = {
        "id": own_id("assignment", system, record),
        "project_id": linked_id("project", system, record.get("project")),
        "consultant_id": linked_id("consultant", system, record.get("allocationResource")),
        "task_id": linked_id("task", system, record.get("projectTask")),
        "start_date": record.get("startDate"),
        "end_date": record.get("endDate"),
        "hours_per_day": per_day,
    }
    return validate_contract(
        Assignment,
        data,
        subject=f"netsuite resourceAllocation {record.get('id')}",
        team=Team.RESOURCING,
    )
