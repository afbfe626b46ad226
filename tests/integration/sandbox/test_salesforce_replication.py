"""Salesforce sandbox: get-deleted / get-updated resources and upsert answers by API version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette

from interlock.sandbox.salesforce import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SalesforceState
from interlock.sandbox.salesforce import create_app as create_org
from interlock.sandbox.server import SandboxServer

API = "/services/data/v62.0"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 26, 12, 0, 30, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[SandboxServer, Starlette]]:
    app = create_org()
    with SandboxServer(app) as running:
        yield running, app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(server: tuple[SandboxServer, Starlette], clock: Clock) -> Iterator[SalesforceState]:
    fresh = SalesforceState(clock=clock)
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


WINDOW = {"start": "2026-11-26T11:00:00+00:00", "end": "2026-11-26T13:00:00+00:00"}


def test_get_deleted_lists_ids_and_dates_in_the_window(
    http: httpx.Client, state: SalesforceState, clock: Clock
) -> None:
    keep = state.create("Account", {"Name": "Keep"})
    gone = state.create("Account", {"Name": "Gone"})
    state.delete("Account", gone)
    response = http.get(f"{API}/sobjects/Account/deleted/", params=WINDOW)
    assert response.status_code == 200
    body = response.json()
    assert body["deletedRecords"] == [{"id": gone, "deletedDate": "2026-11-26T12:00:30.002+0000"}]
    assert body["earliestDateAvailable"] == "2026-11-26T12:00:00.000+0000"
    assert body["latestDateCovered"] == "2026-11-26T12:00:30.000+0000"  # now, not the end
    assert keep != gone
    later = http.get(
        f"{API}/sobjects/Account/deleted/",
        params={"start": "2026-11-26T12:01:00Z", "end": "2026-11-26T13:00:00Z"},
    )
    assert later.json()["deletedRecords"] == []


def test_get_updated_lists_live_records_changed_in_the_window(
    http: httpx.Client, state: SalesforceState
) -> None:
    changed = state.create("Account", {"Name": "A"})
    gone = state.create("Account", {"Name": "B"})
    state.delete("Account", gone)
    body = http.get(f"{API}/sobjects/Account/updated/", params=WINDOW).json()
    assert body["ids"] == [changed]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start": "2026-11-26T11:00:00+00:00"}, "MALFORMED_QUERY"),
        ({"start": "yesterday", "end": "2026-11-26T13:00:00+00:00"}, "MALFORMED_QUERY"),
        (
            {"start": "2026-11-26T13:00:00+00:00", "end": "2026-11-26T11:00:00+00:00"},
            "INVALID_REPLICATION_DATE",
        ),
        (
            {"start": "2026-11-01T00:00:00+00:00", "end": "2026-11-26T11:00:00+00:00"},
            "INVALID_REPLICATION_DATE",
        ),
    ],
)
def test_get_deleted_refuses_bad_windows(
    http: httpx.Client, params: dict[str, str], code: str
) -> None:
    response = http.get(f"{API}/sobjects/Account/deleted/", params=params)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


@pytest.mark.parametrize(
    ("version", "update_status", "created_key"),
    [("62.0", 200, True), ("46.0", 200, True), ("45.0", 204, False), ("42.0", 204, False)],
)
def test_upsert_update_answers_200_with_a_body_from_v46_and_204_before(
    http: httpx.Client,
    state: SalesforceState,
    version: str,
    update_status: int,
    created_key: bool,
) -> None:
    url = f"/services/data/v{version}/sobjects/Account/Hub_Id__c/C-1"
    created = http.patch(url, json={"Name": "Acme"})
    assert created.status_code == 201
    assert ("created" in created.json()) is created_key
    updated = http.patch(url, json={"Name": "Acme SA"})
    assert updated.status_code == update_status
    if update_status == 200:
        assert updated.json() == {
            "id": created.json()["id"],
            "success": True,
            "errors": [],
            "created": False,
        }
    else:
        assert updated.content == b""
    assert [r["Name"] for r in state.records("Account")] == ["Acme SA"]


def test_upsert_with_update_only_does_not_create(
    http: httpx.Client, state: SalesforceState
) -> None:
    response = http.patch(
        f"{API}/sobjects/Account/Hub_Id__c/C-9", params={"updateOnly": "true"}, json={"Name": "X"}
    )
    assert response.status_code == 404
    assert state.records("Account") == []
