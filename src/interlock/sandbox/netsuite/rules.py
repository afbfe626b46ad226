"""What the emulated account does to a record before it stores it.

* ``defaults``: values NetSuite fills in when a record is created (a project's currency from
  its customer, a transaction's date, its status...).
* ``derive``: values NetSuite computes on every save (line amounts, totals, allocated hours,
  the status of an expense report from its approvals).
* ``check``: rules across records (a task must belong to the project it is booked on).

``Lookup`` finds another stored record; the state passes it in while it holds its lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from interlock.sandbox.netsuite.errors import NsError
from interlock.sandbox.netsuite.records import TYPES
from interlock.sandbox.netsuite.schema import bad_reference

Lookup = Callable[[str, str], dict[str, Any] | None]
Record = dict[str, Any]

WORKDAY_HOURS = 8
"""Interlock assumption: allocations convert hours and percent with an 8-hour weekday (real
NetSuite uses the resource's work calendar)."""


def defaults(type_name: str, record: Record, find: Lookup, today: dt.date) -> None:
    """Fill in what NetSuite fills in on create."""
    if type_name in ("customer", "job") and record.get("companyName"):
        record.setdefault("entityId", record["companyName"])
    if type_name == "employee" and record.get("firstName") and record.get("lastName"):
        record.setdefault("entityId", f"{record['firstName']} {record['lastName']}")
    if "isInactive" in TYPES[type_name].fields:
        record.setdefault("isInactive", False)
    if type_name == "customer" and record.get("subsidiary"):
        record.setdefault("currency", _field(find, "subsidiary", record["subsidiary"], "currency"))
    if type_name == "job" and record.get("parent"):
        parent = find("customer", record["parent"]) or {}
        record.setdefault("subsidiary", parent.get("subsidiary"))
        record.setdefault("currency", parent.get("currency"))
        record.setdefault("entityStatus", "4")
    if type_name == "projectTask":
        record.setdefault("status", "NOTSTART")
        record.setdefault("nonBillableTask", False)
    if type_name == "resourceAllocation":
        record.setdefault("allocationUnit", "H")  # Interlock assumption
        record.setdefault("allocationType", "1")  # Interlock assumption
    if type_name == "timeBill":
        record.setdefault("timeType", "A")
        record.setdefault("approvalStatus", "1")
        employee = record.get("employee")
        record.setdefault("subsidiary", _field(find, "employee", employee, "subsidiary"))
    if type_name in ("expenseReport", "invoice"):
        record.setdefault("tranDate", today)
    if type_name == "expenseReport":
        subsidiary = _field(find, "employee", record.get("entity"), "subsidiary")
        record.setdefault("subsidiary", subsidiary)
        currency = _field(find, "subsidiary", subsidiary, "currency") if subsidiary else None
        record.setdefault("expensereportcurrency", currency)
    if type_name == "invoice":
        customer = find("customer", record["entity"]) if record.get("entity") else None
        customer = customer or {}
        record.setdefault("subsidiary", customer.get("subsidiary"))
        record.setdefault("currency", customer.get("currency"))
        record["status"] = record.get("status") or "A"


def _field(find: Lookup, type_name: str, record_id: str | None, name: str) -> Any:
    found = find(type_name, record_id) if record_id else None
    return found.get(name) if found else None


def derive(type_name: str, record: Record) -> None:
    """Compute what NetSuite computes on every save."""
    if type_name == "invoice":
        for index, line in enumerate(record.get("item") or []):
            _line_amount(line, index)
        subtotal = round(sum(line["amount"] for line in record.get("item") or []), 2)
        record["subtotal"] = record["total"] = subtotal
    elif type_name == "expenseReport":
        total = round(sum(line["amount"] for line in record.get("expense") or []), 2)
        record["total"] = record["amount"] = total
        if record.get("status") in (None, "A", "B", "C", "F"):
            record["status"] = _expense_status(record)
    elif type_name == "resourceAllocation" and record.get("startDate") and record.get("endDate"):
        available = WORKDAY_HOURS * weekdays(record["startDate"], record["endDate"])
        amount = float(record["allocationAmount"])
        hours = amount / 100 * available if record.get("allocationUnit") == "P" else amount
        record["numberHours"] = round(hours, 2)
        record["percentOfTime"] = round(hours / available * 100, 2) if available else 0.0


def _line_amount(line: Record, index: int) -> None:
    quantity, rate = line.get("quantity"), line.get("rate")
    if line.get("amount") is None:
        if quantity is None or rate is None:
            raise NsError(
                400,
                "Error while accessing a resource. Please enter value(s) for: Amount.",
                "USER_ERROR",
                path=f"item.items[{index}].amount",
            )
        line["amount"] = round(quantity * rate, 2)


def _expense_status(record: Record) -> str:
    # Interlock assumption: the approval check boxes drive the status as in the UI.
    if record.get("accountingapproval"):
        return "F"
    if record.get("supervisorapproval"):
        return "C"
    return "B" if record.get("complete") else "A"


def weekdays(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days from ``start`` to ``end``, both included."""
    days = (end - start).days + 1
    if days <= 0:
        return 0
    full, rest = divmod(days, 7)
    extra = sum(1 for i in range(rest) if (start.weekday() + i) % 7 < 5)
    return full * 5 + extra


def check(type_name: str, record: Record, find: Lookup) -> None:
    """Raise NsError when the record breaks a rule across records."""
    if type_name == "projectTask" and record.get("parent"):
        _task_in(find, record["parent"], record["project"], "parent")
    if type_name == "resourceAllocation":
        if record["endDate"] < record["startDate"]:
            raise NsError(
                400,
                "Error while accessing a resource. The end date must not be before the start date.",
                "USER_ERROR",
                path="endDate",
            )
        if record.get("projectTask"):
            _task_in(find, record["projectTask"], record["project"], "projectTask")
    if type_name == "timeBill" and record.get("caseTaskEvent"):
        task = find("projectTask", record["caseTaskEvent"]) or {}
        record["customer"] = record.get("customer") or task.get("project")
        _task_in(find, record["caseTaskEvent"], record["customer"], "caseTaskEvent")
    if type_name == "expenseReport":
        _needs_lines(record, "expense")
        for index, line in enumerate(record["expense"]):
            if line.get("projecttask"):
                path = f"expense.items[{index}].projecttask"
                _task_in(find, line["projecttask"], line.get("customer"), path)
    if type_name == "invoice":
        _needs_lines(record, "item")
        job = find("job", record["job"]) if record.get("job") else None
        if job is not None and job.get("parent") != record["entity"]:
            raise bad_reference("job", record["job"])


def _task_in(find: Lookup, task_id: str, project_id: str | None, path: str) -> None:
    task = find("projectTask", task_id) or {}
    if task.get("project") != project_id:
        raise bad_reference(path, task_id)


def _needs_lines(record: Record, sublist: str) -> None:
    if not record.get(sublist):
        raise NsError(
            400,
            "Error while accessing a resource. You must enter at least one line item for "
            "this transaction.",
            "USER_ERROR",
            path=sublist,
        )
