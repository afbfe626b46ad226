"""What to send for an upsert of each canonical kind: record type, external id, body.

``check_refs`` refuses missing references up front (a programming error, ``ValueError``);
``plan`` builds the request, looking up currency and category ids through ``AccountLists``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel

from interlock.connectors.netsuite.config import NetSuiteConfig
from interlock.connectors.netsuite.lists import AccountLists
from interlock.connectors.netsuite.mapping import customer_to_native, project_to_native
from interlock.connectors.netsuite.resources import assignment_to_native, consultant_to_native
from interlock.connectors.netsuite.transactions import (
    expense_to_native,
    invoice_to_native,
    time_entry_to_native,
)
from interlock.exceptions import MalformedResponse
from interlock.model import (
    Assignment,
    Consultant,
    Customer,
    Expense,
    Invoice,
    Project,
    Task,
    TimeEntry,
)

RECORD_TYPES = {
    "customer": "customer",
    "project": "job",
    "task": "projectTask",
    "consultant": "employee",
    "assignment": "resourceAllocation",
    "time_entry": "timeBill",
    "expense": "expenseReport",
    "invoice": "invoice",
}
"""Canonical kind → NetSuite REST record type."""

MODELS: dict[str, type[BaseModel]] = {
    "customer": Customer,
    "project": Project,
    "consultant": Consultant,
    "assignment": Assignment,
    "time_entry": TimeEntry,
    "expense": Expense,
    "invoice": Invoice,
}
"""The kinds ``upsert`` writes, with their canonical model."""

REFS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "customer": ((), ()),
    "project": (("customer",), ()),
    "consultant": ((), ()),
    "assignment": (("employee", "project"), ("task",)),
    "time_entry": (("employee", "project"), ("task",)),
    "expense": (("employee", "project"), ()),
    "invoice": (("customer",), ("project",)),
}
"""Kind → (required refs, optional refs). An invoice of a project needs ``project`` too."""


@dataclass(frozen=True)
class Write:
    """One ``PUT <record_type>/eid:<external_id>[?replace=...]``, and the tasks of a project."""

    record_type: str
    external_id: str
    body: dict[str, Any]
    replace: tuple[str, ...] = ()
    tasks: tuple[Task, ...] = field(default=())


def record_id(record: BaseModel) -> str:
    """The canonical id of a record of one of the written kinds."""
    value = getattr(record, "id", None)
    if not isinstance(value, str):
        raise ValueError(f"{type(record).__name__} has no id")
    return value


def check_refs(kind: str, record: BaseModel, refs: Mapping[str, str] | None) -> None:
    """Raise ValueError (or NotImplementedError for a kind we do not write) before any I/O."""
    model = MODELS.get(kind)
    if model is None or not isinstance(record, model):
        raise NotImplementedError(f"netsuite does not write {kind} ({type(record).__name__})")
    required, _ = REFS[kind]
    if isinstance(record, Invoice) and record.project_id:
        required = (*required, "project")
    if isinstance(record, TimeEntry | Assignment) and record.task_id:
        required = (*required, "task")
    missing = [name for name in required if not (refs or {}).get(name)]
    if missing:
        raise ValueError(
            f"upsert({kind!r}) needs refs {missing}: the NetSuite ids of the records "
            f"{type(record).__name__} {getattr(record, 'id', '?')} refers to"
        )


def plan(
    kind: str,
    record: BaseModel,
    refs: Mapping[str, str],
    *,
    config: NetSuiteConfig,
    lists: AccountLists,
) -> Write:
    """The request that writes ``record``. Raises RecordRejected for an unknown currency."""
    subsidiary, item = config.subsidiary_id, config.service_item_id
    record_type = RECORD_TYPES[kind]
    if isinstance(record, Customer):
        currency = lists.currency_id(record.currency) if record.currency else None
        body = customer_to_native(record, subsidiary_id=subsidiary, currency_id=currency)
        return Write(record_type, record.id, body)
    if isinstance(record, Project):
        body = project_to_native(record, customer_id=refs["customer"], subsidiary_id=subsidiary)
        return Write(record_type, record.id, body, tasks=record.tasks)
    if isinstance(record, Consultant):
        body = consultant_to_native(record, subsidiary_id=subsidiary)
        return Write(record_type, record.id, body)
    if isinstance(record, Assignment):
        body = assignment_to_native(
            record,
            employee_id=refs["employee"],
            project_id=refs["project"],
            task_id=refs.get("task") if record.task_id else None,
        )
        return Write(record_type, record.id, body)
    if isinstance(record, TimeEntry):
        body = time_entry_to_native(
            record,
            employee_id=refs["employee"],
            project_id=refs["project"],
            task_id=refs.get("task") if record.task_id else None,
            service_item_id=item,
        )
        return Write(record_type, record.id, body)
    if isinstance(record, Expense):
        body = expense_to_native(
            record,
            employee_id=refs["employee"],
            project_id=refs["project"],
            category_id=lists.category_id(record.category),
            currency_id=lists.currency_id(record.amount.currency),
        )
        return Write(record_type, record.id, body, replace=("expense",))
    if isinstance(record, Invoice):
        body = invoice_to_native(
            record,
            customer_id=refs["customer"],
            project_id=refs.get("project") if record.project_id else None,
            currency_id=lists.currency_id(record.currency),
            service_item_id=item,
        )
        return Write(record_type, record.id, body, replace=("item",))
    raise NotImplementedError(f"netsuite does not write {kind}")  # check_refs refused it


def location_id(system: str, response: httpx.Response, record_type: str) -> str:
    """The record id at the end of a write's ``Location`` header; MalformedResponse if none."""
    location = response.headers.get("Location", "")
    match = re.search(rf"/record/v1/{record_type}/(\d+)/?$", location)
    if match is None:
        raise MalformedResponse(
            system,
            f"{response.request.method} {record_type}: the Location header is missing or "
            "does not end in a record id",
            status=response.status_code,
        )
    return match.group(1)
