"""NetSuite records ↔ canonical contracts. Pure functions, no I/O.

Native shapes we chose (written to, and read back from, NetSuite):

* customer: ``companyName`` = name, ``subsidiary`` = the configured subsidiary, ``currency`` =
  the currency record whose ISO code (``symbol``) is the customer's currency,
  ``defaultAddress`` = street, city, postal code and country code on four lines.
  Segment and tax id are not written (no standard body field takes them).
* job (project): ``companyName`` = name, ``parent`` = the customer, ``startDate``,
  ``projectedEndDate`` = end date, ``jobBillingType`` and ``entityStatus`` from the tables
  below, ``comments`` = ``PO: <po number>`` when there is one.
* projectTask (one per canonical task, external id = task id): ``title`` = name,
  ``project`` = the job, ``estimatedWork`` and ``plannedWork`` = budget hours,
  ``nonBillableTask`` = false, ``message`` = ``Role: <role>`` when there is one.

Read back, a record's canonical id is its ``externalId`` (we own the external ids of
customers and jobs); a record created in NetSuite by hand gets ``canonical_id(...)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from interlock.exceptions import Team
from interlock.model import (
    Address,
    BillingType,
    Customer,
    Project,
    ProjectStatus,
    Task,
    canonical_id,
    validate_contract,
)

BILLING_TYPE_IDS = {
    BillingType.TIME_AND_MATERIALS: "4",  # Time and Materials
    BillingType.FIXED_FEE: "2",  # Fixed Bid, Interval
    BillingType.MILESTONE: "3",  # Fixed Bid, Milestone
}
BILLING_TYPES = {native: canonical for canonical, native in BILLING_TYPE_IDS.items()}

STATUS_IDS = {
    ProjectStatus.SETTING_UP: "5",  # Awarded
    ProjectStatus.ACTIVE: "2",  # In Progress
    ProjectStatus.CLOSED: "1",  # Closed
}
"""On hold has no standard NetSuite project status: it is not written."""
STATUSES = {
    "1": ProjectStatus.CLOSED,
    "2": ProjectStatus.ACTIVE,
    "3": ProjectStatus.CLOSED,  # Not Awarded
    "4": ProjectStatus.SETTING_UP,  # Pending
    "5": ProjectStatus.SETTING_UP,
}
_PO = re.compile(r"^PO: (.+)$")


def format_address(address: Address) -> str | None:
    """``defaultAddress`` text: street, city, postal code, country on four lines."""
    parts = (address.street, address.city, address.postal_code, address.country)
    if not any(parts):
        return None
    return "\n".join(p or "" for p in parts)


def parse_address(text: str | None) -> dict[str, str | None] | None:
    """The inverse of ``format_address``; other text is kept whole as the street."""
    if not text:
        return None
    lines = text.split("\n")
    if len(lines) != 4:
        return {"street": text}
    street, city, postal_code, country = (line or None for line in lines)
    return {"street": street, "city": city, "postal_code": postal_code, "country": country}


def customer_to_native(
    customer: Customer, *, subsidiary_id: str, currency_id: str | None
) -> dict[str, Any]:
    """The body of ``PUT customer/eid:<customer.id>``."""
    body: dict[str, Any] = {
        "companyName": customer.name,
        "subsidiary": {"id": subsidiary_id},
    }
    if currency_id is not None:
        body["currency"] = {"id": currency_id}
    address = format_address(customer.billing_address) if customer.billing_address else None
    if address is not None:
        body["defaultAddress"] = address
    return body


def project_to_native(project: Project, *, customer_id: str, subsidiary_id: str) -> dict[str, Any]:
    """The body of ``PUT job/eid:<project.id>``; ``customer_id`` is the NetSuite customer."""
    body: dict[str, Any] = {
        "companyName": project.name,
        "parent": {"id": customer_id},
        "subsidiary": {"id": subsidiary_id},
        "startDate": project.start_date.isoformat(),
        "projectedEndDate": project.end_date.isoformat(),
        "jobBillingType": {"id": BILLING_TYPE_IDS[project.billing_type]},
    }
    if project.status in STATUS_IDS:
        body["entityStatus"] = {"id": STATUS_IDS[project.status]}
    if project.po_number:
        body["comments"] = f"PO: {project.po_number}"
    return body


def task_to_native(task: Task, *, project_id: str) -> dict[str, Any]:
    """The body of ``PUT projectTask/eid:<task.id>``; ``project_id`` is the NetSuite job."""
    hours = float(task.budget_hours) if task.budget_hours is not None else None
    return {
        "title": task.name,
        "project": {"id": project_id},
        "estimatedWork": hours,
        "plannedWork": hours,
        "nonBillableTask": False,
        "message": f"Role: {task.role}" if task.role else None,
    }


def _own_id(kind: str, system: str, row: Mapping[str, Any]) -> str:
    external = row.get("externalid")
    return str(external) if external else canonical_id(kind, system, str(row["id"]))


def customer_from_native(row: Mapping[str, Any], system: str) -> Customer:
    """A customer from its SuiteQL row (plus ``currency_symbol``). Raises ContractViolation."""
    data = {
        "id": _own_id("customer", system, row),
        "name": row.get("companyname") or row.get("entityid"),
        "currency": row.get("currency_symbol"),
        "billing_address": parse_address(row.get("defaultaddress")),
    }
    return validate_contract(
        Customer, data, subject=f"netsuite customer {row.get('id')}", team=Team.FINANCE
    )


def project_from_native(row: Mapping[str, Any], system: str) -> Project:
    """A project from its SuiteQL job row (plus ``parent_externalid``).

    Raises ContractViolation naming each field NetSuite left empty or we cannot map.
    """
    parent = row.get("parent")
    customer = row.get("parent_externalid") or (
        canonical_id("customer", system, str(parent)) if parent else None
    )
    po = _PO.match((row.get("comments") or "").split("\n", 1)[0])
    data = {
        "id": _own_id("project", system, row),
        "name": row.get("companyname"),
        "customer_id": customer,
        "status": STATUSES.get(str(row.get("entitystatus")), ProjectStatus.SETTING_UP),
        "start_date": row.get("startdate"),
        "end_date": row.get("projectedenddate"),
        "billing_type": BILLING_TYPES.get(str(row.get("jobbillingtype"))),
        "po_number": po.group(1) if po else None,
    }
    return validate_contract(
        Project, data, subject=f"netsuite job {row.get('id')}", team=Team.FINANCE
    )
