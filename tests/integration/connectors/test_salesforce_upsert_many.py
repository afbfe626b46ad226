"""Salesforce connector against the sandbox: batched customer upserts (sObject Collections)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

import pytest
from pydantic import BaseModel, SecretStr
from starlette.applications import Starlette

from interlock.connectors.salesforce import SalesforceConfig, SalesforceConnector
from interlock.exceptions import RecordRejected, Team
from interlock.model import Address, Customer
from interlock.sandbox.salesforce import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SalesforceState
from interlock.sandbox.salesforce import create_app as create_org
from interlock.sandbox.server import SandboxServer

SYSTEM = "salesforce"
NOON = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
Items = list[tuple[BaseModel, Mapping[str, str]]]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[SandboxServer, Starlette]]:
    app = create_org()
    with SandboxServer(app) as running:
        yield running, app


@pytest.fixture
def state(server: tuple[SandboxServer, Starlette]) -> Iterator[SalesforceState]:
    fresh = SalesforceState(clock=lambda: NOON)
    server[1].state.sandbox = fresh
    yield fresh
    fresh.close()


@pytest.fixture
def connector(
    server: tuple[SandboxServer, Starlette], state: SalesforceState
) -> Iterator[SalesforceConnector]:
    config = SalesforceConfig(
        base_url=server[0].base_url,
        client_id=DEMO_CLIENT_ID,
        client_secret=SecretStr(DEMO_CLIENT_SECRET),
        timeout_seconds=10,
    )
    instance = SalesforceConnector(SYSTEM, config)
    yield instance
    instance.close()


def customers(count: int, prefix: str = "Acme") -> Items:
    return [
        (Customer(id=f"customer_{n:04d}", name=f"{prefix} {n}", currency="EUR"), {})
        for n in range(count)
    ]


def test_450_customers_take_three_calls_and_a_second_run_creates_nothing(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    first = connector.upsert_many("customer", customers(450))
    assert state.api_usage == 3
    assert [r.created for r in first] == [True] * 450
    second = connector.upsert_many("customer", customers(450, prefix="Acme SA"))
    assert state.api_usage == 6
    assert [r.created for r in second] == [False] * 450
    assert [r.native_id for r in second] == [r.native_id for r in first]
    accounts = state.records("Account")
    assert len(accounts) == 450
    by_hub_id = {a["Hub_Id__c"]: a for a in accounts}
    assert by_hub_id["customer_0449"]["Name"] == "Acme SA 449"
    assert by_hub_id["customer_0449"]["Id"] == first[449].native_id


def test_writes_say_they_come_from_the_hub(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    connector.upsert_many("customer", customers(2))
    origins = {
        e["payload"]["ChangeEventHeader"]["changeOrigin"]
        for e in state.changes.events("/data/AccountChangeEvent")
    }
    assert origins == {"com/salesforce/api/rest/62.0;client=interlock"}


def test_refused_records_are_named_and_the_others_written(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    items = customers(3)
    items[1] = (
        Customer(id="customer_bad", name="Bad", billing_address=Address(city="C" * 41)),
        {},
    )
    with pytest.raises(RecordRejected) as caught:
        connector.upsert_many("customer", items)
    assert caught.value.code == "STRING_TOO_LONG"
    assert caught.value.fields == ("BillingCity",)
    assert "1 Account records refused: customer_bad: STRING_TOO_LONG" in str(caught.value)
    assert sorted(a["Hub_Id__c"] for a in state.records("Account")) == [
        "customer_0000",
        "customer_0002",
    ]


def test_duplicate_accounts_in_the_org_go_to_sales_ops(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    for _ in range(2):
        state.create("Account", {"Name": "Twin", "Hub_Id__c": "customer_0000"})
    with pytest.raises(RecordRejected) as caught:
        connector.upsert_many("customer", customers(1))
    assert caught.value.code == "DUPLICATE_EXTERNAL_ID"
    assert caught.value.team == Team.SALES_OPS


def test_other_kinds_fall_back_to_single_upserts(connector: SalesforceConnector) -> None:
    with pytest.raises(NotImplementedError):
        connector.upsert_many("project", [(Customer(id="customer_x", name="X"), {})])
