"""Salesforce records ↔ canonical contracts, without any HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from interlock.connectors.salesforce.mapping import (
    STAGES,
    account_from_customer,
    customer_from_native,
    format_datetime,
    opportunity_from_native,
    parse_datetime,
)
from interlock.exceptions import ContractViolation, Team
from interlock.model import (
    Address,
    BillingType,
    Customer,
    Opportunity,
    OpportunityStage,
    Segment,
    canonical_id,
)

SYSTEM = "salesforce"
OPP_ID = "006Dn0000000001IAA"
ACCOUNT_ID = "001Dn0000000001IAA"


def opportunity(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "Id": OPP_ID,
        "IsDeleted": False,
        "Name": "Acme - Data Platform",
        "AccountId": ACCOUNT_ID,
        "StageName": "Closed Won",
        "IsWon": True,
        "IsClosed": True,
        "CloseDate": "2026-11-26",
        "Amount": 125000.0,
        "CurrencyIsoCode": "EUR",
        "Probability": 100.0,
        "LastStageChangeDate": "2026-11-26T14:02:11.250+0000",
        "Practice__c": "Data & Analytics",
        "Contract_Start__c": "2027-01-04",
        "Contract_End__c": "2027-06-30",
        "Billing_Type__c": "Time and Materials",
        "PO_Number__c": "PO-123456",
        "Owner_Email__c": "ada@halcyon.example",
        "Description": None,
        "SystemModstamp": "2026-11-26T14:02:11.250+0000",
    }
    record.update(fields)
    return record


def line(number: int, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "Id": f"a0XDn000000000{number}IAA",
        "Name": f"D0001-0{number}",
        "Opportunity__c": OPP_ID,
        "Role__c": "Architect",
        "Hours__c": 120.0,
        "Rate__c": 260.0,
        "Billing_Type__c": None,
        "Description__c": "Architect effort",
    }
    record.update(fields)
    return record


def payload(
    opp: dict[str, Any] | None = None,
    lines: list[dict[str, Any]] | None = None,
    account: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "Opportunity": opp if opp is not None else opportunity(),
        "Account": account if account is not None else {"Id": ACCOUNT_ID, "Name": "Acme"},
        "SOW_Lines": lines if lines is not None else [line(1), line(2, Role__c="Analyst")],
    }


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ContractViolation) as caught:
        opportunity_from_native(data, SYSTEM)
    assert caught.value.team == Team.SALES_OPS
    return [str(p) for p in caught.value.problems]


def test_a_won_deal_maps_to_a_canonical_opportunity_with_its_contract() -> None:
    result = opportunity_from_native(payload(), SYSTEM)
    assert isinstance(result, Opportunity)
    assert result.id == canonical_id("opportunity", SYSTEM, OPP_ID)
    assert result.customer_id == canonical_id("customer", SYSTEM, ACCOUNT_ID)
    assert (result.customer_name, result.stage) == ("Acme", OpportunityStage.CLOSED_WON)
    assert result.amount is not None
    assert result.amount.amount == Decimal("125000")
    assert result.won_at == dt.datetime(2026, 11, 26, 14, 2, 11, 250_000, tzinfo=dt.UTC)
    assert result.modified_at == result.won_at
    terms = result.terms
    assert terms is not None
    assert (terms.start_date, terms.end_date) == (dt.date(2027, 1, 4), dt.date(2027, 6, 30))
    assert (terms.billing_type, terms.currency, terms.po_number) == (
        BillingType.TIME_AND_MATERIALS,
        "EUR",
        "PO-123456",
    )
    assert [ln.id for ln in terms.lines] == [
        canonical_id("sow_line", SYSTEM, line(1)["Id"]),
        canonical_id("sow_line", SYSTEM, line(2)["Id"]),
    ]
    first = terms.lines[0]
    assert (first.role, first.hours, first.rate.amount, first.rate.currency) == (
        "Architect",
        Decimal("120"),
        Decimal("260"),
        "EUR",
    )
    assert first.billing_type == BillingType.TIME_AND_MATERIALS  # inherited from the deal


def test_an_open_deal_without_contract_fields_has_no_terms_and_no_won_at() -> None:
    bare = opportunity(
        StageName="Prospecting",
        Contract_Start__c=None,
        Contract_End__c=None,
        Billing_Type__c=None,
        PO_Number__c=None,
    )
    result = opportunity_from_native(payload(bare, lines=[]), SYSTEM)
    assert (result.stage, result.terms, result.won_at) == (OpportunityStage.PROSPECTING, None, None)


@pytest.mark.parametrize(
    ("picklist", "stage"),
    [
        ("Prospecting", OpportunityStage.PROSPECTING),
        ("Qualification", OpportunityStage.QUALIFICATION),
        ("Needs Analysis", OpportunityStage.QUALIFICATION),
        ("Value Proposition", OpportunityStage.PROPOSAL),
        ("Proposal/Price Quote", OpportunityStage.PROPOSAL),
        ("Negotiation/Review", OpportunityStage.NEGOTIATION),
        ("Closed Won", OpportunityStage.CLOSED_WON),
        ("Closed Lost", OpportunityStage.CLOSED_LOST),
    ],
)
def test_stage_picklist_maps_to_canonical_stages(picklist: str, stage: OpportunityStage) -> None:
    assert STAGES[picklist] == stage
    assert opportunity_from_native(payload(opportunity(StageName=picklist)), SYSTEM).stage == (
        stage
    )


def test_unknown_stage_is_refused_naming_the_salesforce_field() -> None:
    [problem] = problems(payload(opportunity(StageName="Verbal Yes")))
    assert problem.startswith("Opportunity.StageName: unknown value 'Verbal Yes'")
    assert "'Closed Won'" in problem


def test_bad_currency_is_named_once_in_salesforce_terms() -> None:
    assert problems(payload(opportunity(CurrencyIsoCode="XYZ"))) == [
        "Opportunity.CurrencyIsoCode: must be an ISO 4217 currency code, got 'XYZ'"
    ]


def test_missing_contract_field_is_named_as_the_salesforce_field() -> None:
    assert problems(payload(opportunity(Contract_End__c=None))) == [
        "Opportunity.Contract_End__c: missing"
    ]
    [problem] = problems(payload(opportunity(Contract_Start__c="next monday")))
    assert problem.startswith("Opportunity.Contract_Start__c: Input should be a valid date")


def test_unknown_billing_type_is_reported_once_even_when_lines_inherit_it() -> None:
    [problem] = problems(payload(opportunity(Billing_Type__c="Retainer")))
    assert problem.startswith("Opportunity.Billing_Type__c: unknown value 'Retainer'")


def test_sow_line_problems_name_the_line_record() -> None:
    bad = line(2, Hours__c=0.0, Rate__c=None, Billing_Type__c="Barter")
    assert sorted(problems(payload(lines=[line(1), bad]))) == sorted(
        [
            f"SOW_Line__c[{bad['Id']}].Hours__c: Input should be greater than 0",
            f"SOW_Line__c[{bad['Id']}].Rate__c: missing",
            f"SOW_Line__c[{bad['Id']}].Billing_Type__c: unknown value 'Barter'; expected one of "
            "'Time and Materials', 'Fixed Fee', 'Milestone'",
        ]
    )


def test_lines_alone_make_a_contract_so_missing_dates_are_reported() -> None:
    bare = opportunity(
        StageName="Closed Won",
        Contract_Start__c=None,
        Contract_End__c=None,
        Billing_Type__c=None,
        PO_Number__c=None,
    )
    assert sorted(problems(payload(bare))) == [
        "Opportunity.Billing_Type__c: missing",
        "Opportunity.Contract_End__c: missing",
        "Opportunity.Contract_Start__c: missing",
    ]


def test_mapping_is_lenient_about_fields_it_does_not_need() -> None:
    opp = opportunity(
        AccountId=None,
        Amount=None,
        Practice__c=None,
        Unrelated__c=[1, 2],
        Billing_Type__c="Fixed Fee",
    )
    result = opportunity_from_native(
        {"Opportunity": opp, "Account": None, "SOW_Lines": [line(1, Billing_Type__c="Milestone")]},
        SYSTEM,
    )
    assert (result.customer_id, result.customer_name, result.amount) == (None, None, None)
    assert result.terms is not None
    assert result.terms.billing_type == BillingType.FIXED_FEE
    assert result.terms.lines[0].billing_type == BillingType.MILESTONE


def test_float_amounts_become_exact_decimals() -> None:
    result = opportunity_from_native(payload(opportunity(Amount=0.1)), SYSTEM)
    assert result.amount is not None
    assert result.amount.amount == Decimal("0.1")


def test_a_record_without_id_is_refused() -> None:
    with pytest.raises(ContractViolation) as caught:
        opportunity_from_native({"Opportunity": {"Name": "x"}}, SYSTEM)
    assert [str(p) for p in caught.value.problems] == ["Opportunity.Id: missing"]


def test_account_maps_to_customer_leniently() -> None:
    account = {
        "Id": ACCOUNT_ID,
        "Name": "Acme",
        "Segment__c": "Mid-Market",
        "BillingStreet": "1 Main St",
        "BillingCity": "Paris",
        "BillingPostalCode": "75002",
        "BillingCountry": "fr",
        "CurrencyIsoCode": "EUR",
        "Hub_Id__c": "CUST-0001",
    }
    customer = customer_from_native(account, SYSTEM)
    assert customer == Customer(
        id=canonical_id("customer", SYSTEM, ACCOUNT_ID),
        name="Acme",
        segment=Segment.MID_MARKET,
        currency="EUR",
        billing_address=Address(
            street="1 Main St", city="Paris", postal_code="75002", country="FR"
        ),
    )
    odd = customer_from_native(
        {**account, "Segment__c": "Whale", "BillingCountry": "France"}, SYSTEM
    )
    assert odd.segment is None
    assert odd.billing_address is not None
    assert odd.billing_address.country is None


def test_account_with_bad_currency_is_refused_in_salesforce_terms() -> None:
    with pytest.raises(ContractViolation) as caught:
        customer_from_native({"Id": ACCOUNT_ID, "Name": "Acme", "CurrencyIsoCode": "ABC"}, SYSTEM)
    assert [p.field for p in caught.value.problems] == ["Account.CurrencyIsoCode"]


def test_customer_maps_to_account_fields_without_blanking_empty_ones() -> None:
    customer = Customer(
        id="customer_1",
        name="Acme",
        segment=Segment.PUBLIC_SECTOR,
        billing_address=Address(city="Berlin", country="DE"),
    )
    assert account_from_customer(customer) == {
        "Name": "Acme",
        "Segment__c": "Public Sector",
        "BillingCity": "Berlin",
        "BillingCountry": "DE",
    }


def test_salesforce_datetimes_round_trip() -> None:
    stamp = parse_datetime("2013-05-20T20:49:32.120+0000")
    assert stamp == dt.datetime(2013, 5, 20, 20, 49, 32, 120_000, tzinfo=dt.UTC)
    assert format_datetime(stamp) == "2013-05-20T20:49:32.120+0000"
    assert parse_datetime("2013-05-20T22:49:32.000+02:00") == stamp.replace(microsecond=0)
    with pytest.raises(ValueError, match="without offset"):
        parse_datetime("2013-05-20T20:49:32")
