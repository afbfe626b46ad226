from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from interlock.exceptions import ContractViolation, Team
from interlock.model import (
    CONTRACTS,
    Consultant,
    Invoice,
    Money,
    Project,
    RateCard,
    canonical_id,
    validate_contract,
)


def test_money_refuses_unknown_currency_and_floats_stay_exact() -> None:
    with pytest.raises(ContractViolation) as caught:
        validate_contract(Money, {"amount": "10.00", "currency": "XYZ"}, subject="price")
    assert [str(p) for p in caught.value.problems] == [
        "currency: must be an ISO 4217 currency code, got 'XYZ'"
    ]
    assert Money(amount=Decimal("0.1"), currency="EUR").amount + Decimal("0.2") == Decimal("0.3")


def test_violation_names_every_field_and_rule() -> None:
    data = {
        "id": "p1",
        "name": "",
        "customer_id": "c1",
        "start_date": "2026-02-01",
        "end_date": "2026-01-01",
        "billing_type": "barter",
    }
    with pytest.raises(ContractViolation) as caught:
        validate_contract(Project, data, subject="project p1", team=Team.PMO)
    fields = {p.field for p in caught.value.problems}
    assert fields == {"name", "billing_type"}
    assert caught.value.team is Team.PMO
    assert "project p1 is invalid" in caught.value.message


def test_project_dates_must_be_ordered() -> None:
    with pytest.raises(ContractViolation) as caught:
        validate_contract(
            Project,
            {
                "id": "p1",
                "name": "X",
                "customer_id": "c1",
                "start_date": "2026-02-01",
                "end_date": "2026-01-01",
                "billing_type": "fixed_fee",
            },
            subject="project",
        )
    assert "end_date must not be before start_date" in caught.value.message


def test_cost_rate_is_marked_confidential_in_the_schema() -> None:
    schema = Consultant.model_json_schema()
    assert schema["properties"]["cost_rate"]["x-confidential"] is True
    assert "x-confidential" not in schema["properties"]["role"]


def test_invoice_line_amount_must_match_quantity_times_price() -> None:
    line = {
        "description": "Consulting",
        "quantity": "10",
        "unit_price": {"amount": "150", "currency": "USD"},
        "amount": {"amount": "1400", "currency": "USD"},
    }
    with pytest.raises(ContractViolation, match="amount must equal quantity x unit_price"):
        validate_contract(
            Invoice,
            {
                "id": "i1",
                "customer_id": "c1",
                "currency": "USD",
                "issue_date": "2026-01-31",
                "lines": [line],
            },
            subject="invoice",
        )
    line["amount"] = {"amount": "1500", "currency": "USD"}
    invoice = validate_contract(
        Invoice,
        {
            "id": "i1",
            "customer_id": "c1",
            "currency": "USD",
            "issue_date": "2026-01-31",
            "lines": [line],
        },
        subject="invoice",
    )
    assert invoice.total == Money(amount=Decimal("1500"), currency="USD")


def test_rate_card_lines_share_its_currency() -> None:
    with pytest.raises(ContractViolation, match="not in the card's currency"):
        validate_contract(
            RateCard,
            {
                "id": "rc",
                "name": "Std",
                "currency": "USD",
                "valid_from": dt.date(2026, 1, 1),
                "lines": [{"role": "Analyst", "rate": {"amount": "100", "currency": "EUR"}}],
            },
            subject="rate card",
        )


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ContractViolation) as caught:
        validate_contract(
            Money, {"amount": "1", "currency": "USD", "colour": "red"}, subject="money"
        )
    assert caught.value.problems[0].field == "colour"


def test_canonical_ids_are_stable_and_distinct_per_system() -> None:
    a = canonical_id("customer", "salesforce", "001A")
    assert a == canonical_id("customer", "salesforce", "001A")
    assert a != canonical_id("customer", "netsuite", "001A")
    assert a.startswith("customer_")


def test_every_lifecycle_contract_is_registered() -> None:
    assert {
        "customer",
        "legal_entity",
        "practice",
        "consultant",
        "rate_card",
        "opportunity",
        "contract_terms",
        "project",
        "task",
        "milestone",
        "staffing_demand",
        "assignment",
        "time_entry",
        "expense",
        "invoice",
        "revenue_event",
        "financial_dimensions",
    } <= set(CONTRACTS)
