"""Salesforce sandbox: Change Data Capture events, pulled and pushed to subscriber endpoints."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from interlock.sandbox.salesforce import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SalesforceState
from interlock.sandbox.salesforce import create_app as create_org
from interlock.sandbox.server import SandboxServer

API = "/services/data/v62.0"
OPP_CHANNEL = "/data/OpportunityChangeEvent"
ALL = "/data/ChangeEvents"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


class Receiver:
    """A subscriber endpoint that records pushes and fails when told to."""

    def __init__(self) -> None:
        self.pushes: list[dict[str, Any]] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        with self.lock:
            self.pushes.append(body)
            if self.fail_next:
                self.fail_next -= 1
                return Response(status_code=503)
        return Response(status_code=200)

    def replay_ids(self) -> list[int]:
        with self.lock:
            return [e["event"]["replayId"] for p in self.pushes for e in p["events"]]


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
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    with SandboxServer(hook.app) as running:
        yield hook, f"{running.base_url}/hook"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(server: tuple[SandboxServer, Starlette], clock: Clock) -> Iterator[SalesforceState]:
    fresh = SalesforceState(clock=clock)
    fresh.subscriptions.backoff = 0.01
    server[1].state.sandbox = fresh
    yield fresh
    fresh.close()


@pytest.fixture
def http(server: tuple[SandboxServer, Starlette], state: SalesforceState) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0].base_url) as client:
        token = client.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            },
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def headers(events: list[Any]) -> list[dict[str, Any]]:
    return [e["payload"]["ChangeEventHeader"] for e in events]


def new_deal(state: SalesforceState, **fields: Any) -> str:
    body = {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31", **fields}
    return state.create("Opportunity", body)


def test_every_write_becomes_an_event_with_the_documented_header(
    state: SalesforceState, clock: Clock
) -> None:
    deal = new_deal(state, Amount=100)
    state.update("Opportunity", deal, {"StageName": "Closed Won", "Amount": None})
    state.delete("Opportunity", deal)
    state.undelete("Opportunity", deal)
    events = state.changes.events(OPP_CHANNEL)
    create, update, delete, undelete = headers(events)
    assert [h["changeType"] for h in (create, update, delete, undelete)] == [
        "CREATE",
        "UPDATE",
        "DELETE",
        "UNDELETE",
    ]
    assert create["entityName"] == "Opportunity"
    assert create["recordIds"] == [deal]
    assert create["changedFields"] == []
    assert create["changeOrigin"] == ""  # made in process: as if in the UI
    assert create["commitUser"] == state.user_id
    assert create["commitTimestamp"] == int(clock.now.timestamp() * 1000)
    assert create["sequenceNumber"] == 1
    assert len({h["transactionKey"] for h in (create, update)}) == 2
    assert events[0]["payload"]["Name"] == "Deal"
    assert events[0]["payload"]["CreatedDate"].endswith("Z")
    assert "Id" not in events[0]["payload"]
    assert sorted(update["changedFields"]) == sorted(
        [
            "StageName",
            "Amount",
            "IsWon",
            "IsClosed",
            "Probability",
            "LastStageChangeDate",
            "LastModifiedDate",
        ]
    )
    assert update["nulledFields"] == ["Amount"]
    assert set(events[1]["payload"]) == {
        "ChangeEventHeader",
        "StageName",
        "IsWon",
        "IsClosed",
        "Probability",
        "LastStageChangeDate",
        "LastModifiedDate",
    }  # unchanged and nulled fields are left out, as CometD does
    replay_ids = [e["event"]["replayId"] for e in events]
    assert replay_ids == sorted(replay_ids)
    assert all(e["schema"] == events[0]["schema"] for e in events)


def test_a_cascading_delete_is_one_transaction_in_sequence(state: SalesforceState) -> None:
    deal = new_deal(state)
    line = state.create("SOW_Line__c", {"Name": "L", "Opportunity__c": deal})
    state.delete("Opportunity", deal)
    deletes = [h for h in headers(state.changes.events(ALL)) if h["changeType"] == "DELETE"]
    assert [(h["entityName"], h["recordIds"]) for h in deletes] == [
        ("Opportunity", [deal]),
        ("SOW_Line__c", [line]),
    ]
    assert deletes[0]["transactionKey"] == deletes[1]["transactionKey"]
    assert [h["sequenceNumber"] for h in deletes] == [1, 2]
    line_channel = state.changes.events("/data/SOW_Line__ChangeEvent")
    assert [h["changeType"] for h in headers(line_channel)] == ["CREATE", "DELETE"]


def test_api_writes_carry_the_client_named_in_sforce_call_options(
    http: httpx.Client, state: SalesforceState
) -> None:
    mine = http.post(
        f"{API}/sobjects/Account/",
        json={"Name": "Hub"},
        headers={"Sforce-Call-Options": "client=interlock, defaultNamespace=x"},
    ).json()["id"]
    theirs = http.post(f"{API}/sobjects/Account/", json={"Name": "Other"}).json()["id"]
    found = {h["recordIds"][0]: h["changeOrigin"] for h in headers(state.changes.events(ALL))}
    assert found == {
        mine: "com/salesforce/api/rest/62.0;client=interlock",
        theirs: "com/salesforce/api/rest/62.0",
    }


def test_pull_endpoint_filters_by_channel_and_replays_after_an_id(
    http: httpx.Client, state: SalesforceState
) -> None:
    account = state.create("Account", {"Name": "A"})
    first, second = new_deal(state, AccountId=account), new_deal(state)
    pulled = http.get("/__admin/cdc/events", params={"channel": OPP_CHANNEL}).json()
    assert pulled["channel"] == OPP_CHANNEL
    assert [h["recordIds"][0] for h in headers(pulled["events"])] == [first, second]
    after = pulled["events"][0]["event"]["replayId"]
    rest = http.get(
        "/__admin/cdc/events", params={"channel": OPP_CHANNEL, "replay_from": after}
    ).json()
    assert [h["recordIds"][0] for h in headers(rest["events"])] == [second]
    assert rest["latestReplayId"] == pulled["events"][-1]["event"]["replayId"]
    none = http.get("/__admin/cdc/events", params={"replay_from": -1}).json()
    assert none["events"] == []
    assert len(http.get("/__admin/cdc/events").json()["events"]) == 3  # all channels
    bad = http.get("/__admin/cdc/events", params={"channel": "/data/LeadChangeEvent"})
    assert bad.status_code == 400


def test_events_older_than_72_hours_are_gone(state: SalesforceState, clock: Clock) -> None:
    new_deal(state)
    clock.now += dt.timedelta(hours=73)
    recent = new_deal(state)
    assert [h["recordIds"] for h in headers(state.changes.events(ALL))] == [[recent]]


def test_subscriber_receives_batches_in_replay_order(
    http: httpx.Client, state: SalesforceState, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    before = new_deal(state)  # before subscribing: not pushed (replay -1 = new only)
    created = http.post("/__admin/cdc/subscribers", json={"url": url, "channel": OPP_CHANNEL})
    assert created.status_code == 201
    assert created.json()["status"] == "active"
    deals = [new_deal(state, Name=f"D{i}") for i in range(5)]
    state.create("Account", {"Name": "not on this channel"})
    eventually(lambda: len(hook.replay_ids()) == 5)
    assert all(p["channel"] == OPP_CHANNEL for p in hook.pushes)
    pushed = [e for p in hook.pushes for e in p["events"]]
    assert [h["recordIds"][0] for h in headers(pushed)] == deals
    assert before not in deals
    assert hook.replay_ids() == sorted(hook.replay_ids())
    listed = http.get("/__admin/cdc/subscribers").json()
    assert listed[0]["deliveredReplayId"] == hook.replay_ids()[-1]


def test_a_failing_subscriber_gets_the_same_batch_again(
    state: SalesforceState, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    hook.fail_next = 2
    state.subscriptions.subscribe(url, ALL)
    deal = new_deal(state)
    eventually(lambda: len(hook.pushes) == 3)
    assert [p["events"] for p in hook.pushes[1:]] == [hook.pushes[0]["events"]] * 2
    assert headers(hook.pushes[-1]["events"])[0]["recordIds"] == [deal]
    [sub] = state.subscriptions.all()
    eventually(lambda: sub.attempts == 0)
    assert sub.status == "active"


def test_retries_are_bounded_then_the_subscriber_is_suspended_and_can_resume(
    http: httpx.Client, state: SalesforceState, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    hook.fail_next = 100
    state.subscriptions.max_attempts = 3
    http.post("/__admin/cdc/subscribers", json={"url": url, "channel": ALL})
    first = new_deal(state)
    eventually(lambda: http.get("/__admin/cdc/subscribers").json()[0]["status"] == "suspended")
    [sub] = http.get("/__admin/cdc/subscribers").json()
    assert (sub["attempts"], sub["lastError"]) == (3, "HTTP 503")
    assert len(hook.pushes) == 3
    second = new_deal(state)
    hook.fail_next = 0
    again = http.post("/__admin/cdc/subscribers", json={"url": url, "channel": ALL}).json()
    assert again["deliveredReplayId"] == sub["deliveredReplayId"]  # resumes where it stopped
    eventually(
        lambda: [first, second] == [h["recordIds"][0] for h in headers(hook.pushes[-1]["events"])]
    )
    assert len(http.get("/__admin/cdc/subscribers").json()) == 1


def test_subscribe_refuses_bad_requests_and_unsubscribe_stops_pushing(
    http: httpx.Client, state: SalesforceState, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    assert (
        http.post("/__admin/cdc/subscribers", json={"url": url, "channel": "/x"}).status_code == 400
    )
    assert http.post("/__admin/cdc/subscribers", json={"channel": ALL}).status_code == 400
    sub = http.post("/__admin/cdc/subscribers", json={"url": url, "replay_from": -2}).json()
    assert sub["channel"] == ALL
    assert http.delete(f"/__admin/cdc/subscribers/{sub['id']}").status_code == 204
    assert http.delete(f"/__admin/cdc/subscribers/{sub['id']}").status_code == 404
    new_deal(state)
    time.sleep(0.2)
    assert hook.pushes == []
