"""Example CRM records ↔ canonical contracts. Pure functions, no I/O.

Lenient about what the hub does not need (an unknown ``tier`` becomes no segment), strict about
what it does. A ContractViolation names each field in Example CRM's own terms
(``contract.ends_on``, ``line_items[2].hours``), so sales ops can fix the deal where it lives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from interlock.exceptions import ContractViolation, FieldProblem, Team
from interlock.model import (
    BillingType,
    Customer,
    Opportunity,
    OpportunityStage,
    Segment,
    canonical_id,
    validate_contract,
)

T = TypeVar("T", bound=BaseModel)
Record = Mapping[str, Any]

STAGES = {
    "lead": OpportunityStage.PROSPECTING,
    "qualified": OpportunityStage.QUALIFICATION,
    "proposal": OpportunityStage.PROPOSAL,
    "negotiation": OpportunityStage.NEGOTIATION,
    "won": OpportunityStage.CLOSED_WON,
    "lost": OpportunityStage.CLOSED_LOST,
}
BILLING = {
    "hourly": BillingType.TIME_AND_MATERIALS,
    "fixed_price": BillingType.FIXED_FEE,
    "milestones": BillingType.MILESTONE,
}
TIERS = {
    "enterprise": Segment.ENTERPRISE,
    "midmarket": Segment.MID_MARKET,
    "smb": Segment.SMALL_BUSINESS,
    "public": Segment.PUBLIC_SECTOR,
}
VENDOR_FIELDS = {
    "customer_id": "company_id",
    "customer_name": "company.name",
    "amount": "value",
    "amount.amount": "value.amount",
    "amount.currency": "value.currency",
    "modified_at": "updated_at",
    "terms.start_date": "contract.starts_on",
    "terms.end_date": "contract.ends_on",
    "terms.billing_type": "contract.billing",
    "terms.currency": "value.currency",
    "terms.po_number": "contract.po_number",
    "segment": "tier",
    "billing_address": "address",
}
"""Canonical path → Example CRM field, where the names differ."""
WRITTEN = ("external_id", "name", "tier", "currency", "address")
"""Company fields Interlock owns and writes; sales ops own the rest."""
_LINE = re.compile(r"^terms\.lines\.(\d+)\.(.+)$")


def vendor_field(path: str) -> str:
    """The Example CRM field behind a canonical path.

    ``terms.end_date`` → ``contract.ends_on``; ``terms.lines.2.hours`` → ``line_items[2].hours``.
    """
    line = _LINE.match(path)
    if line is None:
        return VENDOR_FIELDS.get(path, path.replace("billing_address.", "address."))
    index, rest = line.groups()
    if rest == "rate.currency":  # a line has no currency of its own: it is the deal's
        return "value.currency"
    if rest == "billing_type":
        return "contract.billing"
    return f"line_items[{index}].{rest.removesuffix('.amount')}"


def opportunity_from_deal(deal: Record, system: str) -> Opportunity:
    """Map a deal (with its ``company`` embedded, if any) to a canonical Opportunity.

    Raises:
        ContractViolation: A field the hub needs is missing or malformed; each problem names
            the Example CRM field. Owned by sales ops.
    """
    problems: list[FieldProblem] = []
    stage = _choice(deal, "stage", STAGES, problems)
    value: Record = deal.get("value") or {}
    company: Record = deal.get("company") or {}
    data = {
        "id": canonical_id("opportunity", system, str(deal.get("id"))),
        "name": deal.get("name"),
        "customer_id": (
            canonical_id("customer", system, str(deal["company_id"]))
            if deal.get("company_id")
            else None
        ),
        "customer_name": company.get("name"),
        "stage": stage,
        "close_date": deal.get("close_date"),
        "amount": value or None,
        "practice": deal.get("practice"),
        "owner_email": deal.get("owner_email"),
        "won_at": deal.get("won_at") if stage == OpportunityStage.CLOSED_WON else None,
        "modified_at": deal.get("updated_at"),
        "terms": _terms(deal, value.get("currency"), system, problems),
    }
    subject = f"Example CRM deal {deal.get('id')} ({deal.get('name')!r})"
    return _validated(Opportunity, data, subject, problems)


def _terms(
    deal: Record, currency: Any, system: str, problems: list[FieldProblem]
) -> dict[str, Any] | None:
    contract: Record | None = deal.get("contract")
    lines: list[Record] = list(deal.get("line_items") or [])
    if contract is None and not lines:
        return None  # an early deal without a contract: fine until it is won
    contract = contract or {}
    billing = _choice(contract, "billing", BILLING, problems, prefix="contract.")
    return {
        "start_date": contract.get("starts_on"),
        "end_date": contract.get("ends_on"),
        "billing_type": billing,
        "currency": currency,
        "po_number": contract.get("po_number"),
        "lines": [
            {
                "id": canonical_id("sow_line", system, str(line.get("id"))),
                "role": line.get("role"),
                "hours": line.get("hours"),
                "rate": {"amount": line["rate"], "currency": currency}
                if line.get("rate") is not None
                else None,
                "billing_type": billing,
                "description": line.get("description"),
            }
            for line in lines
        ],
    }


def customer_from_company(company: Record, system: str) -> Customer:
    """Map a company to a canonical Customer. Raises ContractViolation naming the fields."""
    data = {
        "id": canonical_id("customer", system, str(company.get("id"))),
        "name": company.get("name"),
        "segment": TIERS.get(str(company.get("tier"))),
        "billing_address": company.get("address") or None,
        "currency": company.get("currency"),
    }
    subject = f"Example CRM company {company.get('id')} ({company.get('name')!r})"
    return _validated(Customer, data, subject, [])


def company_from_customer(customer: Customer) -> dict[str, Any]:
    """The company fields Interlock writes for a customer, ``external_id`` included.

    Fields the customer leaves empty are not sent, so they do not blank what sales ops keep.
    """
    tiers = {segment: tier for tier, segment in TIERS.items()}
    address = customer.billing_address
    body = {
        "external_id": customer.id,
        "name": customer.name,
        "tier": tiers[customer.segment] if customer.segment else None,
        "currency": customer.currency,
        "address": address.model_dump(exclude_none=True) if address else None,
    }
    return {name: value for name, value in body.items() if value is not None}


def written_fields(company: Record) -> dict[str, Any]:
    """The fields of a stored company that ``company_from_customer`` writes."""
    return {name: company[name] for name in WRITTEN if company.get(name) is not None}


def changed_fields(current: Record, desired: Mapping[str, Any]) -> dict[str, Any]:
    """The desired fields whose value differs from the stored record (what a PATCH sends)."""
    return {name: value for name, value in desired.items() if current.get(name) != value}


def _choice(
    record: Record,
    field: str,
    values: Mapping[str, Any],
    problems: list[FieldProblem],
    prefix: str = "",
) -> Any:
    raw = record.get(field)
    if raw is None:
        return None
    if raw in values:
        return values[raw]
    expected = ", ".join(values)
    problems.append(FieldProblem(prefix + field, f"unknown value {raw!r}; expected {expected}"))
    return None


def _validated(model: type[T], data: dict[str, Any], subject: str, early: list[FieldProblem]) -> T:
    """Validate, then report every problem under the Example CRM field it comes from."""
    try:
        result = validate_contract(model, _present(data), subject=subject, team=Team.SALES_OPS)
    except ContractViolation as exc:
        found = exc.problems
    else:
        if not early:
            return result
        found = []
    named = {p.field: p for p in early}  # the first problem per vendor field wins
    for problem in found:
        field = vendor_field(problem.field)
        rule = "missing" if problem.rule == "Field required" else problem.rule
        named.setdefault(field, FieldProblem(field, rule))
    raise ContractViolation(subject, list(named.values()), team=Team.SALES_OPS)


def _present(value: Any) -> Any:
    """``value`` without nulls, so pydantic reports an absent field as missing."""
    if isinstance(value, Mapping):
        return {k: _present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_present(v) for v in value]
    return value
