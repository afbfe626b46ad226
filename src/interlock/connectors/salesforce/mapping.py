"""Salesforce records ↔ canonical contracts. Pure functions, no I/O.

Lenient about what the hub does not need (an unknown customer segment becomes None), strict
about what it does: a broken stage, billing type, currency or date raises
``ContractViolation`` whose problems name the *Salesforce* field (``Opportunity.CurrencyIsoCode``,
``SOW_Line__c[a0X...].Hours__c``), so sales ops can fix the record where it lives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from interlock.connectors.salesforce.violations import (
    CUSTOMER_PATHS,
    LINE_PATHS,
    OPPORTUNITY_PATHS,
    validated,
)
from interlock.exceptions import ContractViolation, FieldProblem, Team
from interlock.model import (
    BillingType,
    Customer,
    Opportunity,
    OpportunityStage,
    Segment,
    canonical_id,
)

STAGES: dict[str, OpportunityStage] = {
    "Prospecting": OpportunityStage.PROSPECTING,
    "Qualification": OpportunityStage.QUALIFICATION,
    "Needs Analysis": OpportunityStage.QUALIFICATION,
    "Value Proposition": OpportunityStage.PROPOSAL,
    "Id. Decision Makers": OpportunityStage.PROPOSAL,
    "Perception Analysis": OpportunityStage.PROPOSAL,
    "Proposal/Price Quote": OpportunityStage.PROPOSAL,
    "Negotiation/Review": OpportunityStage.NEGOTIATION,
    "Closed Won": OpportunityStage.CLOSED_WON,
    "Closed Lost": OpportunityStage.CLOSED_LOST,
}
"""``StageName`` picklist value → canonical stage (the standard sales process)."""

BILLING_TYPES: dict[str, BillingType] = {
    "Time and Materials": BillingType.TIME_AND_MATERIALS,
    "Fixed Fee": BillingType.FIXED_FEE,
    "Milestone": BillingType.MILESTONE,
}
"""``Billing_Type__c`` picklist value → canonical billing type."""

SEGMENTS: dict[str, Segment] = {
    "Enterprise": Segment.ENTERPRISE,
    "Mid-Market": Segment.MID_MARKET,
    "Small Business": Segment.SMALL_BUSINESS,
    "Public Sector": Segment.PUBLIC_SECTOR,
}
"""``Account.Segment__c`` picklist value → canonical segment."""

CONTRACT_FIELDS = ("Contract_Start__c", "Contract_End__c", "Billing_Type__c", "PO_Number__c")
"""Opportunity fields whose presence (or any SOW line) means the deal carries a contract."""


def parse_datetime(value: str) -> dt.datetime:
    """Read a Salesforce datetime (``2013-05-20T20:49:32.000+0000``) as an aware UTC datetime.

    Raises:
        ValueError: ``value`` is not a datetime with an offset.
    """
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"datetime without offset: {value!r}")
    return parsed.astimezone(dt.UTC)


def format_datetime(value: dt.datetime) -> str:
    """Write a datetime as Salesforce does: UTC, milliseconds, ``+0000``."""
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def opportunity_from_native(payload: Mapping[str, Any], system: str) -> Opportunity:
    """Map ``{"Opportunity", "Account", "SOW_Lines"}`` to a canonical Opportunity.

    Raises:
        ContractViolation: A field the hub needs is missing or malformed; each problem names
            the Salesforce field. Owned by sales ops, who fix it in Salesforce.
    """
    opp: Mapping[str, Any] = payload.get("Opportunity") or {}
    account: Mapping[str, Any] | None = payload.get("Account")
    lines: list[Mapping[str, Any]] = list(payload.get("SOW_Lines") or [])
    subject = f"Salesforce Opportunity {opp.get('Id')} ({opp.get('Name')!r})"
    native_id = _native_id(opp, "Opportunity", subject)
    early: dict[str, FieldProblem] = {}  # canonical path → problem found before validation

    stage = _picklist(opp, "StageName", STAGES, "stage", early)
    currency = opp.get("CurrencyIsoCode")
    data: dict[str, Any] = {
        "id": canonical_id("opportunity", system, native_id),
        "name": opp.get("Name"),
        "customer_id": (
            canonical_id("customer", system, str(opp["AccountId"]))
            if opp.get("AccountId")
            else None
        ),
        "customer_name": account.get("Name") if account else None,
        "stage": stage,
        "close_date": opp.get("CloseDate"),
        "amount": (
            {"amount": _decimal(opp["Amount"]), "currency": currency}
            if opp.get("Amount") is not None
            else None
        ),
        "practice": opp.get("Practice__c"),
        "owner_email": opp.get("Owner_Email__c"),
        "won_at": (
            _stamp(opp, "LastStageChangeDate", "won_at", early)
            if stage == OpportunityStage.CLOSED_WON
            else None
        ),
        "modified_at": _stamp(opp, "SystemModstamp", "modified_at", early),
    }
    if lines or any(opp.get(name) is not None for name in CONTRACT_FIELDS):
        billing = _picklist(opp, "Billing_Type__c", BILLING_TYPES, "terms.billing_type", early)
        data["terms"] = {
            "start_date": opp.get("Contract_Start__c"),
            "end_date": opp.get("Contract_End__c"),
            "billing_type": billing,
            "currency": currency,
            "po_number": opp.get("PO_Number__c"),
            "lines": [
                _line(line, index, billing, currency, system, early)
                for index, line in enumerate(lines)
            ],
        }
    paths = dict(OPPORTUNITY_PATHS)
    for index, line in enumerate(lines):
        for canonical, native in LINE_PATHS.items():
            paths[f"terms.lines.{index}.{canonical}"] = f"SOW_Line__c[{line.get('Id')}].{native}"
        paths[f"terms.lines.{index}.rate.currency"] = "Opportunity.CurrencyIsoCode"
    return validated(Opportunity, data, subject, early, paths)


def customer_from_native(account: Mapping[str, Any], system: str) -> Customer:
    """Map an Account to a canonical Customer.

    An unknown ``Segment__c`` becomes None and a ``BillingCountry`` that is not an ISO
    3166 alpha-2 code is left out: neither is needed downstream. A bad currency is refused.
    """
    subject = f"Salesforce Account {account.get('Id')} ({account.get('Name')!r})"
    native_id = _native_id(account, "Account", subject)
    country = account.get("BillingCountry")
    address = {
        "street": account.get("BillingStreet"),
        "city": account.get("BillingCity"),
        "postal_code": account.get("BillingPostalCode"),
        "country": (
            country.strip().upper()
            if isinstance(country, str) and len(country.strip()) == 2 and country.strip().isalpha()
            else None
        ),
    }
    data = {
        "id": canonical_id("customer", system, native_id),
        "name": account.get("Name"),
        "segment": SEGMENTS.get(str(account.get("Segment__c"))),
        "billing_address": address if any(v is not None for v in address.values()) else None,
        "currency": account.get("CurrencyIsoCode"),
    }
    return validated(Customer, data, subject, {}, CUSTOMER_PATHS)


def account_from_customer(customer: Customer) -> dict[str, Any]:
    """The Account fields for an upsert of ``customer`` (keyed by ``Hub_Id__c`` in the URL).

    Fields the customer leaves empty are not sent, so they do not blank what sales ops keep
    in Salesforce.
    """
    segments = {canonical: label for label, canonical in SEGMENTS.items()}
    address = customer.billing_address
    body = {
        "Name": customer.name,
        "Segment__c": segments[customer.segment] if customer.segment else None,
        "BillingStreet": address.street if address else None,
        "BillingCity": address.city if address else None,
        "BillingPostalCode": address.postal_code if address else None,
        "BillingCountry": address.country if address else None,
        "CurrencyIsoCode": customer.currency,
    }
    return {name: value for name, value in body.items() if value is not None}


def _line(
    line: Mapping[str, Any],
    index: int,
    default_billing: BillingType | str | None,
    currency: Any,
    system: str,
    early: dict[str, FieldProblem],
) -> dict[str, Any]:
    path = f"terms.lines.{index}"
    billing: BillingType | str | None = default_billing
    if line.get("Billing_Type__c") is not None:
        billing = _picklist(
            line,
            "Billing_Type__c",
            BILLING_TYPES,
            f"{path}.billing_type",
            early,
            label=f"SOW_Line__c[{line.get('Id')}]",
        )
    elif "terms.billing_type" in early:  # inherits the deal's bad value: report it once
        early[f"{path}.billing_type"] = early["terms.billing_type"]
    elif default_billing is None:  # inherits the deal's missing value: report it once
        early[f"{path}.billing_type"] = FieldProblem("Opportunity.Billing_Type__c", "missing")
    return {
        "id": canonical_id("sow_line", system, str(line.get("Id"))),
        "role": line.get("Role__c"),
        "hours": _decimal(line.get("Hours__c")),
        "rate": (
            {"amount": _decimal(line["Rate__c"]), "currency": currency}
            if line.get("Rate__c") is not None
            else None
        ),
        "billing_type": billing,
        "description": line.get("Description__c"),
    }


def _picklist(
    record: Mapping[str, Any],
    name: str,
    values: Mapping[str, Any],
    path: str,
    early: dict[str, FieldProblem],
    *,
    label: str = "Opportunity",
) -> Any:
    raw = record.get(name)
    if raw is None:
        return None
    if raw not in values:
        expected = ", ".join(repr(v) for v in values)
        early[path] = FieldProblem(
            f"{label}.{name}", f"unknown value {raw!r}; expected one of {expected}"
        )
        return raw
    return values[raw]


def _stamp(record: Mapping[str, Any], name: str, path: str, early: dict[str, FieldProblem]) -> Any:
    raw = record.get(name)
    if raw is None:
        return None
    try:
        return parse_datetime(str(raw))
    except ValueError:
        early[path] = FieldProblem(f"Opportunity.{name}", f"not a Salesforce datetime: {raw!r}")
        return raw


def _decimal(value: Any) -> Any:
    # str() of a float is its shortest round-trip form: 0.1 stays "0.1", not 0.1000000000000000055
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _native_id(record: Mapping[str, Any], sobject: str, subject: str) -> str:
    native_id = record.get("Id")
    if not isinstance(native_id, str) or not native_id:
        raise ContractViolation(
            subject, [FieldProblem(f"{sobject}.Id", "missing")], team=Team.INTEGRATION
        )
    return native_id
