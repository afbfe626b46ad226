"""Example CRM's records and the rules its API enforces on them.

Companies and deals are JSON objects. The API owns ``id``, ``created_at``, ``updated_at``,
``version`` and ``deleted``; a client sends the other fields. A refused write answers 422 with
``{"error": {"code", "message", "field"}}``, where ``field`` names the offending field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

Record = dict[str, Any]

RESOURCES = ("companies", "deals")
SYSTEM_FIELDS = frozenset({"id", "created_at", "updated_at", "version", "deleted"})
FIELDS = {
    "companies": frozenset({"name", "external_id", "tier", "address", "currency"}),
    "deals": frozenset(
        {
            "name",
            "external_id",
            "company_id",
            "stage",
            "value",
            "close_date",
            "owner_email",
            "practice",
            "won_at",
            "contract",
            "line_items",
        }
    ),
}
TIERS = ("enterprise", "midmarket", "smb", "public")
STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
BILLING = ("hourly", "fixed_price", "milestones")
NAME_MAX = 80
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ADDRESS = frozenset({"street", "city", "postal_code", "country"})
_CONTRACT = frozenset({"starts_on", "ends_on", "billing", "po_number"})
_LINE = frozenset({"id", "role", "hours", "rate", "description"})


class ApiError(Exception):
    """An error answer: status, machine code, message and the field at fault."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}

    def body(self) -> bytes:
        return error_body(self.code, self.message, self.field)


def error_body(code: str, message: str, field: str | None = None) -> bytes:
    """The one error shape of the API."""
    return orjson.dumps({"error": {"code": code, "message": message, "field": field}})


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid", f"{field}: {message}", field)


def check_writable(resource: str, body: Record) -> None:
    """Refuse fields the API owns and fields it does not know."""
    for name in body:
        if name in SYSTEM_FIELDS:
            raise ApiError(422, "read_only", f"{name} is set by Example CRM", name)
        if name not in FIELDS[resource]:
            raise ApiError(422, "unknown_field", f"{resource} have no field {name!r}", name)


def validate(resource: str, record: Record, company_exists: Callable[[str], bool]) -> None:
    """Check a record as it would be stored; raise a 422 ApiError naming the field."""
    name = record.get("name")
    if not isinstance(name, str) or not name.strip():
        raise invalid("name", "is required")
    if len(name) > NAME_MAX:
        raise invalid("name", f"must be at most {NAME_MAX} characters, is {len(name)}")
    external = record.get("external_id")
    if external is not None and (not isinstance(external, str) or len(external) > 64):
        raise invalid("external_id", "must be a string of at most 64 characters")
    if resource == "companies":
        _company(record)
    else:
        _deal(record, company_exists)


def _company(record: Record) -> None:
    _choice(record, "tier", TIERS)
    currency = record.get("currency")
    if currency is not None and not (isinstance(currency, str) and _CURRENCY.match(currency)):
        raise invalid("currency", "must be three capital letters")
    address = record.get("address")
    if address is None:
        return
    _object(address, "address", _ADDRESS)
    country = address.get("country")
    if country is not None and not (isinstance(country, str) and len(country) == 2):
        raise invalid("address.country", "must be a two-letter country code")


def _deal(record: Record, company_exists: Callable[[str], bool]) -> None:
    if record.get("stage") is None:
        raise invalid("stage", "is required")
    _choice(record, "stage", STAGES)
    company = record.get("company_id")
    if company is not None and not (isinstance(company, str) and company_exists(company)):
        raise invalid("company_id", f"no company {company!r}")
    value = record.get("value")
    if value is not None:
        _object(value, "value", frozenset({"amount", "currency"}))
    contract = record.get("contract")
    if contract is not None:
        _object(contract, "contract", _CONTRACT)
        if contract.get("billing") is not None and contract["billing"] not in BILLING:
            raise invalid("contract.billing", f"must be one of {', '.join(BILLING)}")
    lines = record.get("line_items") or []
    if not isinstance(lines, list):
        raise invalid("line_items", "must be a list")
    for index, line in enumerate(lines):
        _object(line, f"line_items[{index}]", _LINE)


def _choice(record: Record, field: str, allowed: tuple[str, ...]) -> None:
    value = record.get(field)
    if value is not None and value not in allowed:
        raise invalid(field, f"must be one of {', '.join(allowed)}, got {value!r}")


def _object(value: Any, field: str, allowed: frozenset[str]) -> None:
    if not isinstance(value, dict):
        raise invalid(field, "must be an object")
    for name in value:
        if name not in allowed:
            raise invalid(f"{field}.{name}", "unknown field")
