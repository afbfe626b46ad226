"""Canonical records ↔ Tryton values, and the markers that make our writes findable.

Every record Interlock creates carries ``[interlock:<kind>:<canonical id>]`` in a field
Tryton lets us search:

* parties (customers, consultants): a ``party.identifier`` whose code is the marker;
* projects and tasks (``project.work``): the ``comment``;
* time entries (``timesheet.line``): the end of the ``description``.

Allocations have no free field; an employee is allocated once per task, so (task,
employee) is their key.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from interlock.connectors.tryton import wire
from interlock.exceptions import Team
from interlock.model import (
    ApprovalState,
    BillingType,
    Consultant,
    Customer,
    NonNegativeMoney,
    Project,
    ProjectStatus,
    Task,
    TimeEntry,
    canonical_id,
    validate_contract,
)

MARKER = re.compile(r"\[interlock:(?P<kind>[a-z_]+):(?P<id>[A-Za-z0-9_.:-]+)\]")

INVOICE_METHODS = {
    BillingType.TIME_AND_MATERIALS: "timesheet",
    BillingType.FIXED_FEE: "progress",
    BillingType.MILESTONE: "manual",
}
"""Canonical billing type → ``project_invoice_method`` of the Tryton project."""

BILLING_TYPES = {
    "timesheet": BillingType.TIME_AND_MATERIALS,
    "progress": BillingType.FIXED_FEE,
    "effort": BillingType.FIXED_FEE,
    "manual": BillingType.MILESTONE,
}

_HOUR = Decimal(3600)


def marker(kind: str, cid: str) -> str:
    """The marker of the record of ``kind`` with canonical id ``cid``."""
    return f"[interlock:{kind}:{cid}]"


def marked_id(text: str | None, kind: str) -> str | None:
    """The canonical id in the first ``kind`` marker of ``text``, or None."""
    for found in MARKER.finditer(text or ""):
        if found["kind"] == kind:
            return found["id"]
    return None


def with_marker(text: str | None, kind: str, cid: str) -> str:
    """``text`` ending in the marker, any other marker of ``kind`` removed."""
    kept = MARKER.sub(lambda m: "" if m["kind"] == kind else m[0], text or "").strip()
    return f"{kept} {marker(kind, cid)}" if kept else marker(kind, cid)


def contains(kind: str, cid: str) -> str:
    """A ``like`` pattern matching text that holds the marker (wildcards escaped)."""
    escaped = re.sub(r"([\\%_])", r"\\\1", marker(kind, cid))
    return f"%{escaped}%"


def hours_to_duration(hours: Decimal) -> dt.timedelta:
    """Hours as a duration, to the second."""
    return dt.timedelta(seconds=int((hours * _HOUR).to_integral_value()))


def duration_to_hours(duration: dt.timedelta) -> Decimal:
    """A duration in hours, to 1/100."""
    return (Decimal(int(duration.total_seconds())) / _HOUR).quantize(Decimal("0.01"))


# -- canonical → Tryton ---------------------------------------------------------------------


def address_values(customer: Customer) -> dict[str, Any]:
    """``party.address`` values of the customer's billing address."""
    address = customer.billing_address
    if address is None:
        return {}
    return {"street": address.street, "city": address.city, "postal_code": address.postal_code}


def party_values(record: Customer | Consultant, kind: str) -> dict[str, Any]:
    """``party.party`` values to create a party with its identifier marker."""
    values: dict[str, Any] = {
        "name": record.name,
        "identifiers": [["create", [{"code": marker(kind, record.id)}]]],
    }
    if isinstance(record, Customer):
        values["addresses"] = [["create", [address_values(record)]]]
    else:
        values["contact_mechanisms"] = [["create", [{"type": "email", "value": record.email}]]]
    return values


def project_values(
    project: Project, *, company: int, party: int | None, status: int
) -> dict[str, Any]:
    """``project.work`` values of a project (without its tasks or comment)."""
    return {
        "name": project.name,
        "type": "project",
        "company": company,
        "party": party,
        "status": status,
        "project_invoice_method": INVOICE_METHODS[project.billing_type],
        "constraint_start_date": project.start_date,
        "constraint_finish_date": project.end_date,
    }


def task_values(task: Task, *, product: int) -> dict[str, Any]:
    """``project.work`` values of a task that may change after creation."""
    return {
        "name": task.name,
        "product": product,
        "list_price": task.rate.amount if task.rate else Decimal(0),
        "effort_duration": (
            hours_to_duration(task.budget_hours) if task.budget_hours is not None else None
        ),
    }


def task_comment(task: Task) -> str:
    """The comment of a new task: its role and its marker."""
    return with_marker(f"Role: {task.role}" if task.role else None, "task", task.id)


def allocation_percentage(hours_per_day: Decimal, work_day_hours: Decimal) -> float:
    """The share of the company's working day booked, in percent (150 for 12 of 8 hours)."""
    return float((hours_per_day / work_day_hours * 100).quantize(Decimal("0.01")))


def timesheet_values(entry: TimeEntry, *, company: int, employee: int, work: int) -> dict[str, Any]:
    """``timesheet.line`` values of a time entry, its marker ending the description."""
    return {
        "company": company,
        "employee": employee,
        "work": work,
        "date": entry.date,
        "duration": hours_to_duration(entry.hours),
        "description": with_marker(entry.description, "time_entry", entry.id),
    }


# -- Tryton → canonical ---------------------------------------------------------------------


def _own_id(payload: dict[str, Any], kind: str, system: str) -> str:
    found = payload.get("canonical_id")
    return str(found) if found else canonical_id(kind, system, str(payload["id"]))


def _dates(payload: dict[str, Any]) -> tuple[dt.date, dt.date]:
    created = payload.get("create_date")
    fallback = created.date() if isinstance(created, dt.datetime) else dt.date(1970, 1, 1)
    start = payload.get("constraint_start_date") or fallback
    return start, payload.get("constraint_finish_date") or start


def task_from_native(raw: dict[str, Any], system: str) -> Task:
    """The canonical task of a ``project.work`` of type task (payload of a change)."""
    payload: dict[str, Any] = wire.decode(raw)
    comment = MARKER.sub("", payload.get("comment") or "")
    role = re.search(r"^Role: (.+)$", comment, re.MULTILINE)
    effort = payload.get("effort_duration")
    price = payload.get("list_price")
    project_id = payload.get("parent_canonical_id") or canonical_id(
        "project", system, str(payload.get("parent"))
    )
    data = {
        "id": _own_id(payload, "task", system),
        "project_id": project_id,
        "name": payload.get("name"),
        "role": role[1].strip() if role else None,
        "budget_hours": duration_to_hours(effort) if effort is not None else None,
        "rate": (
            NonNegativeMoney(amount=price, currency=payload["currency"])
            if price is not None
            else None
        ),
        "billing_type": BILLING_TYPES.get(payload.get("invoice_method") or "", "milestone"),
    }
    return validate_contract(Task, data, subject=f"Tryton task {payload.get('id')}")


def project_from_native(raw: dict[str, Any], system: str) -> Project:
    """The canonical project of a ``project.work`` of type project, with its tasks."""
    payload: dict[str, Any] = wire.decode(raw)
    start, end = _dates(payload)
    party = payload.get("party")
    customer = payload.get("party_canonical_id") or (
        canonical_id("customer", system, str(party)) if party else None
    )
    tasks = [task_from_native(t, system) for t in raw.get("tasks", [])]
    data = {
        "id": _own_id(payload, "project", system),
        "name": payload.get("name"),
        "customer_id": customer,
        "status": ProjectStatus.CLOSED if payload.get("done") else ProjectStatus.ACTIVE,
        "start_date": start,
        "end_date": max(start, end),
        "billing_type": BILLING_TYPES.get(payload.get("project_invoice_method") or "", "milestone"),
        "tasks": tasks,
    }
    return validate_contract(Project, data, subject=f"Tryton project {payload.get('id')}")


def time_entry_from_native(raw: dict[str, Any], system: str) -> TimeEntry:
    """The canonical time entry of a ``timesheet.line`` (payload of a change).

    Tryton timesheets have no approval step, so a line reads as approved. Records a person
    made in Tryton (no marker) get ids derived from their Tryton ids.
    """
    payload: dict[str, Any] = wire.decode(raw)
    task, project, employee = payload.get("task"), payload.get("project"), payload.get("employee")
    duration = payload.get("duration")
    description = MARKER.sub("", payload.get("description") or "").strip()
    data = {
        "id": _own_id(payload, "time_entry", system),
        "project_id": payload.get("project_canonical_id")
        or (canonical_id("project", system, str(project)) if project else None),
        "task_id": payload.get("task_canonical_id")
        or (canonical_id("task", system, str(task)) if task else None),
        "consultant_id": payload.get("consultant_canonical_id")
        or (canonical_id("consultant", system, str(employee)) if employee else None),
        "date": payload.get("date"),
        "hours": duration_to_hours(duration) if isinstance(duration, dt.timedelta) else None,
        "state": ApprovalState.APPROVED,
        "description": description or None,
    }
    return validate_contract(
        TimeEntry, data, subject=f"Tryton timesheet line {payload.get('id')}", team=Team.PMO
    )
