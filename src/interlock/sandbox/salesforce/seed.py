"""Fill an emulated org with the generated firm's customers and open deals."""

from __future__ import annotations

from interlock.sandbox.firm import DealSpec, Firm
from interlock.sandbox.salesforce.state import SalesforceState

BILLING_TYPES = {
    "time_and_materials": "Time and Materials",
    "fixed_fee": "Fixed Fee",
    "milestone": "Milestone",
}
"""Firm billing type → ``Billing_Type__c`` picklist value."""

SEGMENTS = {
    "enterprise": "Enterprise",
    "mid_market": "Mid-Market",
    "small_business": "Small Business",
    "public_sector": "Public Sector",
}
"""Firm segment → ``Segment__c`` picklist value."""

OPEN_STAGE = "Negotiation/Review"


def seed_from_firm(state: SalesforceState, firm: Firm) -> dict[str, str]:
    """Create one Account per customer and one open Opportunity (with SOW lines) per deal.

    Deals keep their defects: a missing end date stays null, an unknown currency is written
    as is, a deal without a customer has no ``AccountId``.

    Returns:
        Deal key → Opportunity id.
    """
    accounts: dict[str, str] = {}
    for customer in firm.customers:
        accounts[customer.id] = state.create(
            "Account",
            {
                "Name": customer.name,
                "Type": "Customer",
                "BillingStreet": customer.street,
                "BillingCity": customer.city,
                "BillingPostalCode": customer.postal_code,
                "BillingCountry": customer.country,
                "CurrencyIsoCode": customer.currency,
                "Segment__c": SEGMENTS.get(customer.segment, customer.segment),
                "Hub_Id__c": customer.id,
            },
        )
    return {deal.key: _opportunity(state, deal, accounts) for deal in firm.deals}


def _opportunity(state: SalesforceState, deal: DealSpec, accounts: dict[str, str]) -> str:
    billing = deal.billing_type
    opportunity_id = state.create(
        "Opportunity",
        {
            "Name": deal.name,
            "AccountId": accounts[deal.customer_id] if deal.customer_id else None,
            "StageName": OPEN_STAGE,
            "CloseDate": deal.close_date.isoformat(),
            "Amount": float(deal.amount),
            "CurrencyIsoCode": deal.currency,
            "Practice__c": deal.practice,
            "Contract_Start__c": deal.start_date.isoformat() if deal.start_date else None,
            "Contract_End__c": deal.end_date.isoformat() if deal.end_date else None,
            "Billing_Type__c": BILLING_TYPES.get(billing, billing) if billing else None,
            "PO_Number__c": deal.po_number,
            "Owner_Email__c": deal.owner_email,
            "Description": f"Deal {deal.key}",
        },
    )
    for number, line in enumerate(deal.lines, start=1):
        state.create(
            "SOW_Line__c",
            {
                "Name": f"{deal.key}-{number:02d}",
                "Opportunity__c": opportunity_id,
                "Role__c": line.role,
                "Hours__c": float(line.hours),
                "Rate__c": float(line.rate),
                "Billing_Type__c": BILLING_TYPES.get(line.billing_type, line.billing_type),
                "Description__c": line.description,
            },
        )
    return opportunity_id
