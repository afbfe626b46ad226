"""The Salesforce connector against the sandbox over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from interlock.connectors.base import NativeChange
from interlock.connectors.salesforce import SalesforceConfig, SalesforceConnector
from interlock.exceptions import (
    AuthenticationFailed,
    ConnectorUnavailable,
    ContractViolation,
    MalformedResponse,
    RateLimited,
    RecordRejected,
    Team,
)
from interlock.model import Address, Customer, Opportunity, OpportunityStage, canonical_id
from interlock.sandbox.faults import FaultPlan, Faults
from interlock.sandbox.firm import generate_firm
from interlock.sandbox.salesforce import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SalesforceState,
    create_app,
    seed_from_firm,
)
from interlock.sandbox.server import SandboxServer

SYSTEM = "salesforce"
NOON = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[SandboxServer, Starlette, Faults]]:
    faults = Faults()
    app = create_app(faults=faults)
    with SandboxServer(app) as running:
        yield running, app, faults


@pytest.fixture
def state(server: tuple[SandboxServer, Starlette, Faults]) -> SalesforceState:
    _, app, faults = server
    # Pinned clock: all writes share one second, the hard case for SystemModstamp polling.
    fresh = SalesforceState(page_size=4, clock=lambda: NOON)
    app.state.sandbox = fresh
    faults.clear()
    return fresh


@pytest.fixture
def faults(server: tuple[SandboxServer, Starlette, Faults]) -> Faults:
    return server[2]


def make_config(base_url: str, secret: str = DEMO_CLIENT_SECRET) -> SalesforceConfig:
    return SalesforceConfig(
        base_url=base_url,
        client_id=DEMO_CLIENT_ID,
        client_secret=SecretStr(secret),
        timeout_seconds=5,
    )


@pytest.fixture
def connector(
    server: tuple[SandboxServer, Starlette, Faults], state: SalesforceState
) -> Iterator[SalesforceConnector]:
    instance = SalesforceConnector(SYSTEM, make_config(server[0].base_url))
    yield instance
    instance.close()


def read_all(
    connector: SalesforceConnector, kind: str, cursor: str | None = None, limit: int = 5
) -> tuple[list[NativeChange], str | None, int]:
    changes: list[NativeChange] = []
    pages = 0
    while True:
        page = connector.read_changes(kind, cursor, limit)
        pages += 1
        assert len(page.changes) <= limit
        changes.extend(page.changes)
        cursor = page.cursor
        if not page.more:
            return changes, cursor, pages


def open_deal(state: SalesforceState, name: str) -> str:
    return state.create(
        "Opportunity", {"Name": name, "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )


def test_reads_every_seeded_deal_once_across_pages_within_one_second(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    deals = seed_from_firm(state, generate_firm(seed=7, deals=23))
    changes, cursor, pages = read_all(connector, "opportunity", limit=5)
    assert [c.native_id for c in changes] == list(deals.values())  # oldest first, no gaps
    assert pages == 5
    assert [c.version for c in changes] == sorted(c.version for c in changes)
    assert cursor is not None
    assert cursor.startswith(changes[-1].version)
    again = connector.read_changes("opportunity", cursor)
    assert (again.changes, again.more, again.cursor) == ([], False, cursor)


def test_changes_after_the_cursor_come_back_alone_and_in_order(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    first, second, third = (open_deal(state, n) for n in ("A", "B", "C"))
    _, cursor, _ = read_all(connector, "opportunity")
    state.update("Opportunity", third, {"Amount": 10})
    state.win(first)
    page = connector.read_changes("opportunity", cursor)
    assert [c.native_id for c in page.changes] == [third, first]
    assert second not in {c.native_id for c in page.changes}
    won = connector.to_canonical(page.changes[1])
    assert isinstance(won, Opportunity)
    assert won.stage == OpportunityStage.CLOSED_WON
    assert won.won_at == page.changes[1].changed_at


def test_payload_carries_account_and_sow_lines_without_attributes(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    account = state.create("Account", {"Name": "Acme", "Hub_Id__c": "CUST-1"})
    opp = state.create(
        "Opportunity",
        {
            "Name": "Acme - ERP",
            "StageName": "Closed Won",
            "CloseDate": "2026-12-31",
            "AccountId": account,
            "CurrencyIsoCode": "GBP",
            "Contract_Start__c": "2027-01-04",
            "Contract_End__c": "2027-03-31",
            "Billing_Type__c": "Fixed Fee",
        },
    )
    for n in range(3):
        state.create(
            "SOW_Line__c",
            {
                "Name": f"L{n}",
                "Opportunity__c": opp,
                "Role__c": "PM",
                "Hours__c": 10 + n,
                "Rate__c": "210.50",
            },
        )
    [change] = connector.read_changes("opportunity", None).changes
    assert change.payload["Opportunity"]["Id"] == opp
    assert "attributes" not in change.payload["Opportunity"]
    assert change.payload["Account"]["Hub_Id__c"] == "CUST-1"
    assert [ln["Name"] for ln in change.payload["SOW_Lines"]] == ["L0", "L1", "L2"]
    assert change.changed_at == NOON + dt.timedelta(milliseconds=1)  # lines do not touch it
    mapped = connector.to_canonical(change)
    assert isinstance(mapped, Opportunity)
    assert mapped.customer_id == canonical_id("customer", SYSTEM, account)
    assert mapped.terms is not None
    assert [(ln.hours, ln.rate.amount, ln.rate.currency) for ln in mapped.terms.lines] == [
        (Decimal(10 + n), Decimal("210.5"), "GBP") for n in range(3)
    ]


def test_deletions_are_read_as_deleted_changes(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    keep, gone = open_deal(state, "Keep"), open_deal(state, "Gone")
    _, cursor, _ = read_all(connector, "opportunity")
    state.delete("Opportunity", gone)
    [change] = connector.read_changes("opportunity", cursor).changes
    assert (change.native_id, change.deleted) == (gone, True)
    assert keep != gone


def test_defective_deal_maps_to_a_violation_in_salesforce_terms(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    firm = generate_firm(seed=7, deals=40)
    deals = seed_from_firm(state, firm)
    bad = next(d for d in firm.deals if d.defect == "unknown currency")
    changes, _, _ = read_all(connector, "opportunity", limit=50)
    change = next(c for c in changes if c.native_id == deals[bad.key])
    with pytest.raises(ContractViolation) as caught:
        connector.to_canonical(change)
    assert [str(p) for p in caught.value.problems] == [
        "Opportunity.CurrencyIsoCode: must be an ISO 4217 currency code, got 'XYZ'"
    ]
    assert caught.value.team == Team.SALES_OPS


def test_reads_accounts_as_customers(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    seed_from_firm(state, generate_firm(seed=7, deals=0, customers=6))
    changes, _, pages = read_all(connector, "customer", limit=4)
    assert pages == 2
    customers = [connector.to_canonical(c) for c in changes]
    assert all(isinstance(c, Customer) for c in customers)
    assert len({c.id for c in customers if isinstance(c, Customer)}) == 6


def test_upsert_twice_makes_one_account_and_find_returns_it(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    customer = Customer(
        id="customer_abc",
        name="Acme",
        currency="EUR",
        billing_address=Address(city="Paris", country="FR"),
    )
    first = connector.upsert("customer", customer)
    second = connector.upsert("customer", customer.model_copy(update={"name": "Acme SA"}))
    assert (first.created, second.created) == (True, False)
    assert first.native_id == second.native_id
    [account] = state.records("Account")
    assert (account["Id"], account["Name"], account["Hub_Id__c"]) == (
        first.native_id,
        "Acme SA",
        "customer_abc",
    )
    assert connector.find("customer", "customer_abc") == first.native_id
    assert connector.find("customer", "customer_o'hara") is None


def test_upsert_on_duplicate_external_ids_is_rejected_for_sales_ops(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    for _ in range(2):
        state.create("Account", {"Name": "Twin", "Hub_Id__c": "customer_twin"})
    with pytest.raises(RecordRejected) as caught:
        connector.upsert("customer", Customer(id="customer_twin", name="Twin"))
    assert caught.value.status == 300
    assert caught.value.team == Team.SALES_OPS
    with pytest.raises(RecordRejected):
        connector.find("customer", "customer_twin")


def test_validation_error_becomes_record_rejected_naming_the_field(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    too_long = Customer(id="customer_x", name="X", billing_address=Address(city="C" * 41))
    with pytest.raises(RecordRejected) as caught:
        connector.upsert("customer", too_long)
    assert (caught.value.code, caught.value.fields) == ("STRING_TOO_LONG", ("BillingCity",))
    assert state.records("Account") == []


def test_expired_session_is_renewed_once_and_the_request_repeated(
    connector: SalesforceConnector,
    state: SalesforceState,
    server: tuple[SandboxServer, Starlette, Faults],
) -> None:
    open_deal(state, "A")
    connector.authenticate()
    state.expire_tokens()
    stale = httpx.get(
        f"{server[0].base_url}/services/data/v62.0/query",
        params={"q": "SELECT Id FROM Account"},
        headers={"Authorization": "Bearer stale"},
    )
    assert stale.status_code == 401
    assert len(connector.read_changes("opportunity", None).changes) == 1


def test_refused_credentials_fail_authentication_without_leaking_the_secret(
    server: tuple[SandboxServer, Starlette, Faults], state: SalesforceState
) -> None:
    config = make_config(server[0].base_url, secret="s3cr3t-value")
    bad = SalesforceConnector(SYSTEM, config)
    with pytest.raises(AuthenticationFailed) as caught:
        bad.authenticate()
    bad.close()
    assert caught.value.code == "invalid_client"
    assert not caught.value.retryable
    assert "s3cr3t-value" not in str(caught.value)
    assert "s3cr3t-value" not in repr(config)


def test_rate_limit_fault_becomes_rate_limited_with_retry_after(
    connector: SalesforceConnector, state: SalesforceState, faults: Faults
) -> None:
    connector.authenticate()
    faults.fail_next(429, 429, 429)  # reads are retried twice inline
    with pytest.raises(RateLimited) as caught:
        connector.read_changes("opportunity", None)
    assert caught.value.retry_after == 1.0
    assert caught.value.code == "REQUEST_LIMIT_EXCEEDED"


def test_exhausted_daily_budget_becomes_rate_limited(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    state.api_limit = 0
    with pytest.raises(RateLimited) as caught:
        connector.find("customer", "customer_abc")
    assert (caught.value.status, caught.value.code) == (403, "REQUEST_LIMIT_EXCEEDED")


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_become_connector_unavailable(
    connector: SalesforceConnector, state: SalesforceState, faults: Faults, status: int
) -> None:
    connector.authenticate()
    faults.fail_next(status, status, status)  # reads are retried twice inline
    with pytest.raises(ConnectorUnavailable) as caught:
        connector.read_changes("customer", None)
    assert caught.value.status == status
    assert caught.value.retryable


def test_non_json_body_becomes_malformed_response(
    connector: SalesforceConnector, state: SalesforceState, faults: Faults
) -> None:
    connector.authenticate()
    faults.set(FaultPlan(malformed_rate=1.0))
    with pytest.raises(MalformedResponse):
        connector.read_changes("opportunity", None)


def test_malformed_soql_is_rejected_with_the_salesforce_code(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    with pytest.raises(RecordRejected) as caught:
        list(connector.query("SELECT FROM Account"))
    assert caught.value.code == "MALFORMED_QUERY"
    assert caught.value.status == 400


def test_a_foreign_cursor_is_refused_clearly(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    with pytest.raises(ContractViolation, match="cursor"):
        connector.read_changes("opportunity", "page-2")
