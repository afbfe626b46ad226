"""Salesforce connector against the sandbox: Change Data Capture pushes and deletions."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from interlock.connectors.base import NativeChange
from interlock.connectors.salesforce import SalesforceConfig, SalesforceConnector
from interlock.connectors.salesforce.cdc import cdc_app
from interlock.model import Customer, Opportunity, OpportunityStage
from interlock.sandbox.salesforce import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SalesforceState
from interlock.sandbox.salesforce import create_app as create_org
from interlock.sandbox.server import SandboxServer

SYSTEM = "salesforce"
ALL = "/data/ChangeEvents"
NOON = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[SandboxServer, Starlette]]:
    app = create_org()
    with SandboxServer(app) as running:
        yield running, app


@pytest.fixture
def state(server: tuple[SandboxServer, Starlette]) -> Iterator[SalesforceState]:
    fresh = SalesforceState(clock=lambda: NOON, page_size=3)
    fresh.subscriptions.backoff = 0.01
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
        timeout_seconds=5,
    )
    instance = SalesforceConnector(SYSTEM, config)
    yield instance
    instance.close()


def pulled(state: SalesforceState, after: int = -2) -> dict[str, Any]:
    return {"channel": ALL, "events": state.changes.events(ALL, after)}


def deal_with_lines(state: SalesforceState, lines: int = 2) -> tuple[str, str]:
    account = state.create("Account", {"Name": "Acme", "Hub_Id__c": "C-1"})
    deal = state.create(
        "Opportunity",
        {
            "Name": "Acme - ERP",
            "StageName": "Negotiation/Review",
            "CloseDate": "2026-12-31",
            "AccountId": account,
            "CurrencyIsoCode": "EUR",
            "Billing_Type__c": "Time and Materials",
            "Contract_Start__c": "2027-01-04",
            "Contract_End__c": "2027-03-31",
        },
    )
    for n in range(lines):
        state.create(
            "SOW_Line__c",
            {
                "Name": f"L{n}",
                "Opportunity__c": deal,
                "Role__c": "Consultant",
                "Hours__c": 10,
                "Rate__c": 100,
            },
        )
    return account, deal


def test_events_become_one_change_per_record_with_the_whole_deal(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    account, deal = deal_with_lines(state, lines=4)
    changes = connector.parse_cdc(pulled(state))
    assert [(c.kind, c.native_id) for c in changes] == [
        ("customer", account),
        ("opportunity", deal),  # its own CREATE and the four line CREATEs: one change
    ]
    opportunity = changes[1]
    assert len(opportunity.payload["ChangeEvents"]) == 5
    assert opportunity.payload["Account"]["Hub_Id__c"] == "C-1"
    assert [ln["Name"] for ln in opportunity.payload["SOW_Lines"]] == ["L0", "L1", "L2", "L3"]
    last = opportunity.payload["ChangeEvents"][-1]
    commit = last["payload"]["ChangeEventHeader"]["commitTimestamp"]
    assert opportunity.version == f"{commit}-{last['event']['replayId']}"
    assert opportunity.changed_at == NOON
    mapped = connector.to_canonical(opportunity)
    assert isinstance(mapped, Opportunity)
    assert mapped.terms is not None
    assert len(mapped.terms.lines) == 4


def test_a_line_edit_alone_is_a_change_of_its_deal(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    _, deal = deal_with_lines(state)
    line = state.records("SOW_Line__c")[0]["Id"]
    after = state.changes.latest_replay_id
    state.update("SOW_Line__c", line, {"Hours__c": 99})  # the event lacks Opportunity__c
    [change] = connector.parse_cdc(pulled(state, after))
    assert (change.kind, change.native_id) == ("opportunity", deal)
    assert [ln["Hours__c"] for ln in change.payload["SOW_Lines"]] == [99.0, 10.0]


def test_a_deleted_opportunity_arrives_as_deleted_by_cdc_and_by_polling(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    _, deal = deal_with_lines(state)
    cursor = connector.read_changes("opportunity", None).cursor
    after = state.changes.latest_replay_id
    state.delete("Opportunity", deal)
    [pushed] = connector.parse_cdc(pulled(state, after))  # lines' deletes fold into it
    assert (pushed.kind, pushed.native_id, pushed.deleted) == ("opportunity", deal, True)
    assert connector.classify(pushed) == "deleted"
    [polled] = connector.read_changes("opportunity", cursor).changes
    assert (polled.native_id, polled.deleted) == (deal, True)


def test_own_writes_are_recognised_by_their_change_origin(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    connector.upsert("customer", Customer(id="customer_1", name="Acme"))
    [own] = connector.parse_cdc(pulled(state))
    assert connector.is_own_change(own)
    after = state.changes.latest_replay_id
    state.update("Account", own.native_id, {"Name": "Acme (edited by a rep)"})
    connector.upsert("customer", Customer(id="customer_1", name="Acme"))
    [mixed] = connector.parse_cdc(pulled(state, after))
    assert not connector.is_own_change(mixed)  # the rep's edit is in it too
    polled = connector.read_changes("customer", None).changes[0]
    assert not connector.is_own_change(polled)


def test_the_endpoint_acknowledges_only_after_the_sink_took_the_changes(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    received: list[list[NativeChange]] = []
    lock = threading.Lock()
    failures = [RuntimeError("journal down")]

    def sink(changes: list[NativeChange]) -> None:
        with lock:
            if failures:
                raise failures.pop()
            received.append(changes)

    _, deal = deal_with_lines(state, lines=1)
    with SandboxServer(cdc_app(connector, sink)) as hub:
        state.subscriptions.subscribe(hub.base_url + "/", "/data/OpportunityChangeEvent")
        state.win(deal)
        eventually(lambda: len(received) == 1)
        [sub] = state.subscriptions.all()
        assert sub.delivered == state.changes.latest_replay_id
    [[change]] = received
    assert failures == []  # the first push failed in the sink and was sent again
    assert connector.classify(change) == "won"
    mapped = connector.to_canonical(change)
    assert isinstance(mapped, Opportunity)
    assert mapped.stage == OpportunityStage.CLOSED_WON


def test_the_endpoint_refuses_what_is_not_a_push(connector: SalesforceConnector) -> None:
    taken: list[list[NativeChange]] = []
    with SandboxServer(cdc_app(connector, taken.append)) as hub:
        garbage = httpx.post(hub.base_url + "/", content=b"<html>")
        empty = httpx.post(hub.base_url + "/", json={"channel": ALL, "events": []})
    assert garbage.status_code == 400
    assert (empty.status_code, empty.json()) == (200, {"received": 0})
    assert taken == [[]]
