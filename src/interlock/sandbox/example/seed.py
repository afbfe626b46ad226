"""Fill an Example CRM account with the generated firm's customers and open deals."""

from __future__ import annotations

from interlock.sandbox.example.state import ExampleCrmState
from interlock.sandbox.firm import DealSpec, Firm

TIERS = {
    "enterprise": "enterprise",
    "mid_market": "midmarket",
    "small_business": "smb",
    "public_sector": "public",
}
"""Firm segment → Example CRM ``tier``."""

BILLING = {"time_and_materials": "hourly", "fixed_fee": "fixed_price", "milestone": "milestones"}
"""Firm billing type → Example CRM ``contract.billing``."""

OPEN_STAGE = "negotiation"


def seed_from_firm(state: ExampleCrmState, firm: Firm) -> dict[str, str]:
    """One company per customer and one open deal (with line items) per deal.

    Deals keep their defects: an unknown currency is written as is, a missing end date or
    billing type stays null, a deal without a customer has no ``company_id``.

    Returns:
        Deal key → deal id.
    """
    companies: dict[str, str] = {}
    for customer in firm.customers:
        company, _ = state.create(
            "companies",
            {
                "name": customer.name,
                "tier": TIERS[customer.segment],
                "currency": customer.currency,
                "address": {
                    "street": customer.street,
                    "city": customer.city,
                    "postal_code": customer.postal_code,
                    "country": customer.country,
                },
            },
        )
        companies[customer.id] = company["id"]
    return {deal.key: _deal(state, deal, companies) for deal in firm.deals}


def _deal(state: ExampleCrmState, deal: DealSpec, companies: dict[str, str]) -> str:
    contract = {
        "starts_on": deal.start_date.isoformat() if deal.start_date else None,
        "ends_on": deal.end_date.isoformat() if deal.end_date else None,
        "billing": BILLING[deal.billing_type] if deal.billing_type else None,
        "po_number": deal.po_number,
    }
    record, _ = state.create(
        "deals",
        {
            "name": deal.name,
            "company_id": companies[deal.customer_id] if deal.customer_id else None,
            "stage": OPEN_STAGE,
            "value": {"amount": str(deal.amount), "currency": deal.currency},
            "close_date": deal.close_date.isoformat(),
            "owner_email": deal.owner_email,
            "practice": deal.practice,
            "contract": contract,
            "line_items": [
                {
                    "role": line.role,
                    "hours": str(line.hours),
                    "rate": str(line.rate),
                    "description": line.description,
                }
                for line in deal.lines
            ],
        },
    )
    return str(record["id"])
