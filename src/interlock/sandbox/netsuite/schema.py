"""The record types the emulated account knows: their fields, and how bodies are checked.

Stored records keep canonical camelCase field names with plain values: a reference or an
enum is its id string, a date a ``datetime.date``, a timestamp an aware UTC ``datetime``.
Requests may use any letter case for field names (Oracle's own examples are lower-case).
The enum ids of ``jobBillingType`` and ``entityStatus`` are "1".."5" as the REST catalog
lists them; which id means which label is not published, so the tables below are our choice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from interlock.sandbox.netsuite.errors import NsError


class Kind(StrEnum):
    """Value kinds of body fields."""

    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    NUMBER = "number"
    BOOLEAN = "boolean"
    REF = "ref"
    ENUM = "enum"


@dataclass(frozen=True)
class Field:
    """One body field: its kind, its UI label (used in messages) and its rules."""

    kind: Kind
    label: str
    ref: str | None = None
    choices: Mapping[str, str] = field(default_factory=dict)
    required: bool = False
    read_only: bool = False


@dataclass(frozen=True)
class RecordType:
    """A REST record type. ``ref_name`` lists the fields whose first value names a record."""

    name: str
    fields: Mapping[str, Field]
    ref_name: tuple[str, ...]

    def lookup(self, key: str) -> tuple[str, Field] | None:
        """The canonical name and spec of ``key``, matched without regard to case."""
        wanted = key.lower()
        for name, spec in self.fields.items():
            if name.lower() == wanted:
                return name, spec
        return None


JOB_BILLING_TYPES = {
    "1": "Charge-Based",
    "2": "Fixed Bid, Interval",
    "3": "Fixed Bid, Milestone",
    "4": "Time and Materials",
    "5": "None",
}
JOB_STATUSES = {
    "1": "Closed",
    "2": "In Progress",
    "3": "Not Awarded",
    "4": "Pending",
    "5": "Awarded",
}
TASK_STATUSES = {"NOTSTART": "Not Started", "PROGRESS": "In Progress", "COMPLETE": "Completed"}

_T, _D, _TS, _N, _B = Kind.TEXT, Kind.DATE, Kind.DATETIME, Kind.NUMBER, Kind.BOOLEAN


def _ref(target: str, label: str, *, required: bool = False) -> Field:
    return Field(Kind.REF, label, ref=target, required=required)


def _enum(choices: Mapping[str, str], label: str) -> Field:
    return Field(Kind.ENUM, label, choices=choices)


_COMMON = {
    "id": Field(_T, "Internal ID", read_only=True),
    "externalId": Field(_T, "External ID"),
    "dateCreated": Field(_TS, "Date Created", read_only=True),
    "lastModifiedDate": Field(_TS, "Last Modified Date", read_only=True),
}


def _type(type_name: str, ref_name: tuple[str, ...], /, **fields: Field) -> RecordType:
    return RecordType(type_name, {**_COMMON, **fields}, ref_name)


TYPES: dict[str, RecordType] = {
    t.name: t
    for t in (
        _type(
            "currency",
            ("name",),
            name=Field(_T, "Name", required=True),
            symbol=Field(_T, "ISO Code", required=True),
            isBaseCurrency=Field(_B, "Base Currency"),
            exchangeRate=Field(_N, "Default Exchange Rate"),
            isInactive=Field(_B, "Inactive"),
        ),
        _type(
            "subsidiary",
            ("name",),
            name=Field(_T, "Name", required=True),
            currency=_ref("currency", "Currency"),
            country=Field(_T, "Country"),
            isInactive=Field(_B, "Inactive"),
        ),
        _type(
            "customer",
            ("entityId", "companyName"),
            entityId=Field(_T, "Customer ID"),
            companyName=Field(_T, "Company Name", required=True),
            isPerson=Field(_B, "Type"),
            email=Field(_T, "Email"),
            phone=Field(_T, "Phone"),
            comments=Field(_T, "Comments"),
            subsidiary=_ref("subsidiary", "Primary Subsidiary", required=True),
            currency=_ref("currency", "Currency"),
            parent=_ref("customer", "Child Of"),
            defaultAddress=Field(_T, "Default Address"),
            isInactive=Field(_B, "Inactive"),
        ),
        _type(
            "job",
            ("entityId", "companyName"),
            entityId=Field(_T, "Project ID"),
            companyName=Field(_T, "Project Name", required=True),
            parent=_ref("customer", "Customer", required=True),
            startDate=Field(_D, "Start Date"),
            projectedEndDate=Field(_D, "Estimated End Date"),
            endDate=Field(_D, "Actual End Date"),
            jobBillingType=_enum(JOB_BILLING_TYPES, "Billing Type"),
            entityStatus=_enum(JOB_STATUSES, "Status"),
            projectManager=_ref("employee", "Project Manager"),
            currency=_ref("currency", "Currency"),
            subsidiary=_ref("subsidiary", "Subsidiary"),
            jobPrice=Field(_N, "Project Price"),
            comments=Field(_T, "Comments"),
            isInactive=Field(_B, "Inactive"),
        ),
        _type(
            "projectTask",
            ("title",),
            title=Field(_T, "Name", required=True),
            project=_ref("job", "Project", required=True),
            status=_enum(TASK_STATUSES, "Status"),
            finishByDate=Field(_D, "Finish No Later Than"),
            estimatedWork=Field(_N, "Estimated Work"),
            plannedWork=Field(_N, "Planned Work"),
        ),
        _type(
            "employee",
            ("entityId",),
            entityId=Field(_T, "Name"),
            firstName=Field(_T, "First Name", required=True),
            lastName=Field(_T, "Last Name", required=True),
            email=Field(_T, "Email"),
            title=Field(_T, "Job Title"),
            laborCost=Field(_N, "Labor Cost"),
            subsidiary=_ref("subsidiary", "Subsidiary", required=True),
            isJobResource=Field(_B, "Project Resource"),
            isInactive=Field(_B, "Inactive"),
        ),
    )
}

Resolver = Callable[[str, dict[str, Any]], str | None]
"""Finds the id of a referenced record from ``{"id"}`` or ``{"externalId"}``, or None."""


def _bad_value(name: str, value: object) -> NsError:
    return NsError(
        400,
        "Error while accessing a resource. You have entered an Invalid Field "
        f"Value {value!r} for the following field: {name}",
        "INVALID_CONTENT",
        path=name,
    )


def coerce(rtype: RecordType, key: str, value: Any, resolve: Resolver) -> tuple[str, Any]:
    """Check one body field and return (canonical name, stored value)."""
    found = rtype.lookup(key)
    if found is None:
        raise NsError(
            400,
            f"Invalid field name '{key}': the field does not exist on record type {rtype.name}.",
            "INVALID_CONTENT",
            path=key,
        )
    name, spec = found
    if spec.read_only:
        raise NsError(
            400, f"The field {name} is read-only and cannot be set.", "INVALID_CONTENT", path=name
        )
    if value is None:
        if spec.required:
            raise missing(name, spec)
        return name, None
    return name, _value(name, spec, value, resolve)


def _value(name: str, spec: Field, value: Any, resolve: Resolver) -> Any:
    kind = spec.kind
    if kind is Kind.TEXT and isinstance(value, str):
        return value
    if kind is Kind.NUMBER and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind is Kind.BOOLEAN and isinstance(value, bool):
        return value
    if kind is Kind.DATE and isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _bad_value(name, value) from None
    if kind is Kind.ENUM and isinstance(value, dict) and str(value.get("id")) in spec.choices:
        return str(value["id"])
    if kind is Kind.REF and isinstance(value, dict) and ("id" in value or "externalId" in value):
        assert spec.ref is not None
        target = resolve(spec.ref, value)
        if target is None:
            key = value.get("id", value.get("externalId"))
            raise NsError(
                400,
                f"Error while accessing a resource. Invalid {name} reference key {key}.",
                "INVALID_KEY_OR_REF",
                path=name,
            )
        return target
    raise _bad_value(name, value)


def missing(name: str, spec: Field) -> NsError:
    """The error for a required field left empty."""
    return NsError(
        400,
        f"Error while accessing a resource. Please enter value(s) for: {spec.label}.",
        "USER_ERROR",
        path=name,
    )


def check_required(rtype: RecordType, record: Mapping[str, Any]) -> None:
    """Raise USER_ERROR for the first required field without a value."""
    for name, spec in rtype.fields.items():
        if spec.required and record.get(name) is None:
            raise missing(name, spec)


def iso_datetime(value: dt.datetime) -> str:
    """A timestamp as the REST API writes it: ``2024-07-01T12:00:00Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(
    rtype: RecordType,
    record: Mapping[str, Any],
    *,
    href: Callable[[str, str], str],
    ref_name: Callable[[str, str], str | None],
    simple_enums: bool = False,
) -> dict[str, Any]:
    """A stored record as the REST API returns it: references expanded, empty fields left out."""
    out: dict[str, Any] = {"links": [{"rel": "self", "href": href(rtype.name, record["id"])}]}
    for name, spec in rtype.fields.items():
        value = record.get(name)
        if value is None:
            continue
        if spec.kind is Kind.REF:
            assert spec.ref is not None
            ref: dict[str, Any] = {"id": value}
            label = ref_name(spec.ref, value)
            if label is not None:
                ref["refName"] = label
            ref["links"] = [{"rel": "self", "href": href(spec.ref, value)}]
            out[name] = ref
        elif spec.kind is Kind.ENUM:
            out[name] = value if simple_enums else {"id": value, "refName": spec.choices[value]}
        elif spec.kind is Kind.DATE:
            out[name] = value.isoformat()
        elif spec.kind is Kind.DATETIME:
            out[name] = iso_datetime(value)
        else:
            out[name] = value
    return out
