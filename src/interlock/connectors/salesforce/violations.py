"""Contract violations named in Salesforce terms.

Pydantic reports canonical paths (``terms.currency``); sales ops fix records in Salesforce, so
each path is translated back to the field it came from (``Opportunity.CurrencyIsoCode``),
falling back to the canonical path where no field matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from interlock.exceptions import ContractViolation, FieldProblem, Team
from interlock.model import validate_contract

T = TypeVar("T", bound=BaseModel)

OPPORTUNITY_PATHS = {
    "id": "Opportunity.Id",
    "name": "Opportunity.Name",
    "customer_id": "Opportunity.AccountId",
    "customer_name": "Account.Name",
    "stage": "Opportunity.StageName",
    "close_date": "Opportunity.CloseDate",
    "amount": "Opportunity.Amount",
    "amount.amount": "Opportunity.Amount",
    "amount.currency": "Opportunity.CurrencyIsoCode",
    "practice": "Opportunity.Practice__c",
    "owner_email": "Opportunity.Owner_Email__c",
    "won_at": "Opportunity.LastStageChangeDate",
    "modified_at": "Opportunity.SystemModstamp",
    "terms.start_date": "Opportunity.Contract_Start__c",
    "terms.end_date": "Opportunity.Contract_End__c",
    "terms.billing_type": "Opportunity.Billing_Type__c",
    "terms.currency": "Opportunity.CurrencyIsoCode",
    "terms.po_number": "Opportunity.PO_Number__c",
}
LINE_PATHS = {
    "id": "Id",
    "role": "Role__c",
    "hours": "Hours__c",
    "rate": "Rate__c",
    "rate.amount": "Rate__c",
    "billing_type": "Billing_Type__c",
    "description": "Description__c",
}
CUSTOMER_PATHS = {
    "id": "Account.Id",
    "name": "Account.Name",
    "segment": "Account.Segment__c",
    "currency": "Account.CurrencyIsoCode",
    "billing_address.street": "Account.BillingStreet",
    "billing_address.city": "Account.BillingCity",
    "billing_address.postal_code": "Account.BillingPostalCode",
    "billing_address.country": "Account.BillingCountry",
}


def validated(
    model: type[T],
    data: dict[str, Any],
    subject: str,
    early: dict[str, FieldProblem],
    paths: Mapping[str, str],
) -> T:
    """Validate ``data`` against ``model``; on failure raise one ContractViolation (sales ops).

    Args:
        model: The canonical contract.
        data: Candidate values; nulls are dropped first so an absent field reads "missing".
        subject: Names the Salesforce record in the message.
        early: Problems found while reading picklists and stamps, by canonical path; they
            replace pydantic's complaint about the same path.
        paths: Canonical path → Salesforce field name.
    """
    try:
        result = validate_contract(model, present(data), subject=subject, team=Team.SALES_OPS)
    except ContractViolation as exc:
        found = exc.problems
    else:
        if not early:
            return result
        found = []
    problems = list(early.values())
    for problem in found:
        if problem.field in early:
            continue
        rule = "missing" if problem.rule == "Field required" else problem.rule
        problems.append(FieldProblem(paths.get(problem.field, problem.field), rule))
    unique = list(dict.fromkeys(problems))
    raise ContractViolation(subject, unique, team=Team.SALES_OPS)


def present(value: Any) -> Any:
    """``value`` without null entries, so pydantic reports an absent field as missing."""
    if isinstance(value, dict):
        return {k: present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [present(v) for v in value]
    return value
