"""The connector guide's example: Example CRM's sandbox and connector over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from interlock.connectors.base import NativeChange
from interlock.connectors.example import ExampleCrmConfig, ExampleCrmConnector
from interlock.exceptions import (
    AuthenticationFailed,
    ConnectorUnavailable,
    ContractViolation,
    MalformedResponse,
    OutcomeUnknown,
    RateLimited,
    RecordNotFound,
    RecordRejected,
)
from interlock.model import Address, Customer, Opportunity, OpportunityStage, Segment
from interlock.quota import QUOTA_CODE, budgets
from interlock.sandbox.example import DEMO_API_KEY, ExampleCrmState, create_app, seed_from_firm
from interlock.sandbox.faults import FaultPlan, Faults
from interlock.sandbox.firm import DealSpec, generate_firm
from interlock.sandbox.server import SandboxServer


@pytest.fixture(autouse=True)
def fresh_budgets() -> Iterator[None]:
    """Request budgets are per system and URL; a port reused by a later test starts afresh."""
    budgets.clear()
    yield
    budgets.clear()


@pytest.fixture
def state() -> ExampleCrmState:
    return ExampleCrmState()


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def server(state: ExampleCrmState, faults: Faults) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(state, faults)) as running:
        yield running


def config_for(server: SandboxServer, **overrides: Any) -> ExampleCrmConfig:
    settings: dict[str, Any] = {
        "base_url": server.base_url,
        "api_key": SecretStr(DEMO_API_KEY),
        **overrides,
    }
    return ExampleCrmConfig(**settings)


@pytest.fixture
def connector(server: SandboxServer) -> Iterator[ExampleCrmConnector]:
    crm = ExampleCrmConnector("crm", config_for(server))
    yield crm
    crm.close()


@pytest.fixture
def deals(state: ExampleCrmState) -> dict[str, DealSpec]:
    """The generated firm's deals, seeded, by their Example CRM id."""
    firm = generate_firm(seed=7, deals=40)
    ids = seed_from_firm(state, firm)
    return {ids[deal.key]: deal for deal in firm.deals}


def make_customer(**changes: Any) -> Customer:
    fields: dict[str, Any] = {
        "id": "customer_acme",
        "name": "Acme Logistics",
        "segment": Segment.ENTERPRISE,
        "billing_address": Address(city="London", country="GB"),
        "currency": "GBP",
    }
    return Customer(**{**fields, **changes})


def read_all(connector: ExampleCrmConnector, kind: str, limit: int) -> list[NativeChange]:
    changes: list[NativeChange] = []
    cursor: str | None = None
    for _ in range(100):
        page = connector.read_changes(kind, cursor, limit=limit)
        changes += page.changes
        cursor = page.cursor
        if not page.more:
            return changes
    raise AssertionError("the change feed never ended")


# -- the sandbox's contract ------------------------------------------------------------------


def test_the_api_answers_401_in_its_error_shape_without_the_key(server: SandboxServer) -> None:
    response = httpx.get(f"{server.base_url}/api/companies")
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthorized", "message": "missing or unknown API key", "field": None}
    }


def test_an_idempotency_key_replays_the_first_answer(server: SandboxServer) -> None:
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}", "Idempotency-Key": "k1"}
    url = f"{server.base_url}/api/companies"
    first = httpx.post(url, json={"name": "Acme"}, headers=headers)
    again = httpx.post(url, json={"name": "Acme"}, headers=headers)
    other = httpx.post(url, json={"name": "Acme Ltd"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_listings_page_with_next_cursor_in_update_order(
    server: SandboxServer, deals: dict[str, DealSpec]
) -> None:
    client = httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {DEMO_API_KEY}"}
    )
    seen: list[tuple[str, str]] = []
    params: dict[str, Any] = {"limit": 7}
    with client:
        while True:
            body = client.get("/api/deals", params=params).json()
            seen += [(d["updated_at"], d["id"]) for d in body["data"]]
            if body["next_cursor"] is None:
                break
            params["cursor"] = body["next_cursor"]
        assert client.get("/api/deals", params={"limit": 101}).json()["error"]["field"] == "limit"
    assert len(seen) == len(deals)
    assert seen == sorted(seen)


# -- authentication --------------------------------------------------------------------------


def test_a_wrong_key_is_refused_and_never_shown(server: SandboxServer) -> None:
    crm = ExampleCrmConnector("crm", config_for(server, api_key=SecretStr("wrong-key-123")))
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            crm.authenticate()
    finally:
        crm.close()
    assert caught.value.status == 401
    assert "wrong-key-123" not in str(caught.value)
    assert "wrong-key-123" not in repr(crm.config)


# -- reading changes -------------------------------------------------------------------------


def test_changes_page_through_every_deal_once_and_resume_from_the_cursor(
    connector: ExampleCrmConnector, state: ExampleCrmState, deals: dict[str, DealSpec]
) -> None:
    first = connector.read_changes("opportunity", None, limit=15)
    second = connector.read_changes("opportunity", first.cursor, limit=15)
    third = connector.read_changes("opportunity", second.cursor, limit=15)
    assert [len(p.changes) for p in (first, second, third)] == [15, 15, 10]
    assert [p.more for p in (first, second, third)] == [True, True, False]
    ids = [c.native_id for p in (first, second, third) for c in p.changes]
    assert sorted(ids) == [d["id"] for d in state.records("deals")]
    # A stored cursor reads the same page again: a crash between reading and saving loses nothing.
    assert connector.read_changes("opportunity", first.cursor, limit=15) == second
    assert connector.read_changes("opportunity", third.cursor).changes == []

    state.update("deals", ids[3], {"practice": "Finance Advisory"})
    [edited] = connector.read_changes("opportunity", third.cursor).changes
    assert (edited.native_id, edited.version) == (ids[3], "2")


def test_records_sharing_a_stamp_are_not_lost_at_a_page_boundary() -> None:
    moment = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
    state = ExampleCrmState(clock=lambda: moment)
    for number in range(25):
        state.create("companies", {"name": f"Company {number}"})
    with SandboxServer(create_app(state)) as server:
        crm = ExampleCrmConnector("crm", config_for(server))
        try:
            changes = read_all(crm, "customer", limit=10)
        finally:
            crm.close()
    assert len({c.native_id for c in changes}) == len(changes) == 25


def test_a_deleted_deal_arrives_as_a_deletion(
    connector: ExampleCrmConnector, state: ExampleCrmState, deals: dict[str, DealSpec]
) -> None:
    start = connector.read_changes("opportunity", None, limit=100)
    state.delete("deals", "dl_000005")
    [gone] = connector.read_changes("opportunity", start.cursor).changes
    assert (gone.native_id, gone.deleted, connector.classify(gone)) == (
        "dl_000005",
        True,
        "deleted",
    )
    with pytest.raises(RecordNotFound):
        connector.get("opportunity", "dl_000005")


def test_a_won_deal_is_classified_won_and_brings_its_company(
    connector: ExampleCrmConnector, state: ExampleCrmState, deals: dict[str, DealSpec]
) -> None:
    state.update("deals", "dl_000001", {"stage": "won"})
    change = connector.get("opportunity", "dl_000001")
    assert connector.classify(change) == "won"
    opportunity = connector.to_canonical(change)
    assert isinstance(opportunity, Opportunity)
    assert opportunity.stage == OpportunityStage.CLOSED_WON
    assert opportunity.won_at is not None
    assert opportunity.terms is not None
    assert opportunity.terms.lines
    account = connector.related(change, "customer")
    assert account is not None
    customer = connector.to_canonical(account)
    assert isinstance(customer, Customer)
    assert opportunity.customer_id == customer.id
    assert opportunity.customer_name == customer.name


def test_mapping_problems_name_the_example_crm_fields(
    connector: ExampleCrmConnector, deals: dict[str, DealSpec]
) -> None:
    expected = {
        "missing contract end date": ["contract.ends_on"],
        "unknown currency": ["value.currency"],
        "SOW line with zero hours": ["line_items[0].hours"],
        "missing billing type": ["contract.billing"],
    }
    named: dict[str | None, list[str]] = {}
    for change in read_all(connector, "opportunity", limit=50):
        try:
            connector.to_canonical(change)
        except ContractViolation as exc:
            named[deals[change.native_id].defect] = [p.field for p in exc.problems]
    defects = {deal.defect for deal in deals.values()}
    assert named == {d: f for d, f in expected.items() if d in defects}
    assert len(named) >= 3  # the firm has most of these defects


# -- writing ---------------------------------------------------------------------------------


def test_upserting_twice_makes_one_company_and_updates_it(
    connector: ExampleCrmConnector, state: ExampleCrmState
) -> None:
    first = connector.upsert("customer", make_customer())
    again = connector.upsert("customer", make_customer())
    renamed = connector.upsert("customer", make_customer(name="Acme Logistics plc"))
    assert (first.created, again.created, renamed.created) == (True, False, False)
    assert first.native_id == again.native_id == renamed.native_id
    [company] = state.records("companies")
    assert (company["name"], company["external_id"], company["tier"]) == (
        "Acme Logistics plc",
        "customer_acme",
        "enterprise",
    )
    assert company["version"] == 2  # the unchanged upsert sent no PATCH
    assert connector.find("customer", "customer_acme") == first.native_id


def test_when_search_lags_the_idempotency_key_returns_the_first_company(
    connector: ExampleCrmConnector, state: ExampleCrmState
) -> None:
    state.search_lag_seconds = 60
    first = connector.upsert("customer", make_customer())
    again = connector.upsert("customer", make_customer())
    assert again.native_id == first.native_id
    assert not again.created
    assert len(state.records("companies")) == 1


@pytest.mark.parametrize("search_lag", [0.0, 60.0], ids=["found-by-external-id", "key-replayed"])
def test_a_create_that_timed_out_is_not_duplicated_by_the_retry(
    server: SandboxServer, state: ExampleCrmState, search_lag: float
) -> None:
    state.search_lag_seconds = search_lag
    state.write_delay_seconds = 0.6  # the answer comes after the client gave up
    impatient = ExampleCrmConnector("crm", config_for(server, timeout_seconds=0.3))
    try:
        with pytest.raises(OutcomeUnknown):
            impatient.upsert("customer", make_customer())
        state.write_delay_seconds = 0.0
        retried = impatient.upsert("customer", make_customer())
    finally:
        impatient.close()
    [company] = state.records("companies")
    assert retried.native_id == company["id"]


def test_the_echo_of_a_write_carries_the_writes_fingerprint(
    connector: ExampleCrmConnector, state: ExampleCrmState
) -> None:
    customer = make_customer()
    connector.upsert("customer", customer)
    page = connector.read_changes("customer", None)
    [echo] = page.changes
    assert connector.change_fingerprint(echo) == connector.fingerprint("customer", customer)
    state.update("companies", echo.native_id, {"name": "Acme Logistics (renamed by sales)"})
    [edit] = connector.read_changes("customer", page.cursor).changes
    assert connector.change_fingerprint(edit) != connector.fingerprint("customer", customer)


# -- errors ----------------------------------------------------------------------------------


def test_a_refused_field_is_named_in_record_rejected(
    connector: ExampleCrmConnector, state: ExampleCrmState
) -> None:
    with pytest.raises(RecordRejected) as caught:
        connector.upsert("customer", make_customer(name="Acme " * 20))
    assert (caught.value.status, caught.value.code, caught.value.fields) == (
        422,
        "invalid",
        ("name",),
    )
    assert "at most 80 characters" in str(caught.value)
    assert state.records("companies") == []


def test_past_the_request_budget_it_is_rate_limited_with_retry_after(
    connector: ExampleCrmConnector, state: ExampleCrmState
) -> None:
    state.rate_limit = 1
    connector.authenticate()
    with pytest.raises(RateLimited) as caught:
        connector.upsert("customer", make_customer())
    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after is not None
    assert 1 <= caught.value.retry_after <= 60
    assert caught.value.retryable


def test_the_configured_request_budget_holds_requests_back_before_the_vendor(
    server: SandboxServer, state: ExampleCrmState
) -> None:
    settings = {"requests_per_minute": 2, "max_quota_wait_seconds": 0}
    crm = ExampleCrmConnector("crm", config_for(server, **settings))
    try:
        crm.authenticate()
        crm.authenticate()
        with pytest.raises(RateLimited) as caught:
            crm.authenticate()
    finally:
        crm.close()
    assert caught.value.code == QUOTA_CODE
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 0
    assert state.served == 2


def test_a_server_error_is_unavailable_and_retryable(
    connector: ExampleCrmConnector, faults: Faults
) -> None:
    faults.set(FaultPlan(error_rates={500: 1.0}))
    with pytest.raises(ConnectorUnavailable) as caught:
        connector.read_changes("customer", None)
    assert caught.value.status == 500
    assert caught.value.retryable
    assert "injected HTTP 500" in str(caught.value)


def test_a_body_that_is_not_json_is_a_malformed_response(
    connector: ExampleCrmConnector, faults: Faults
) -> None:
    faults.set(FaultPlan(malformed_rate=1.0))
    with pytest.raises(MalformedResponse):
        connector.read_changes("customer", None)


def test_a_brief_outage_on_a_read_is_ridden_out(
    connector: ExampleCrmConnector, faults: Faults, deals: dict[str, DealSpec]
) -> None:
    faults.fail_next(503, 500)
    assert len(connector.read_changes("customer", None, limit=5).changes) == 5
    assert faults.injected == 2
