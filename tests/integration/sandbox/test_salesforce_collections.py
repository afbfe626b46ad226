"""Salesforce sandbox: sObject Collections (create, update, upsert, retrieve, delete)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from interlock.sandbox.salesforce import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SalesforceState
from interlock.sandbox.salesforce import create_app as create_org
from interlock.sandbox.server import SandboxServer

API = "/services/data/v62.0"
COLL = API + "/composite/sobjects"
NOON = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"


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


def account(name: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Account"}, "Name": name, **fields}


def test_create_returns_save_results_in_request_order_and_counts_one_request(
    http: httpx.Client, state: SalesforceState
) -> None:
    response = http.post(
        COLL,
        json={
            "allOrNone": False,
            "records": [
                account("A"),
                {"attributes": {"type": "Opportunity"}, "Name": "D", "StageName": "Prospecting"},
                account("C"),
            ],
        },
    )
    assert response.status_code == 200
    first, failed, third = response.json()
    assert (first["success"], first["errors"]) == (True, [])
    assert failed == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [CloseDate]",
                "fields": ["CloseDate"],
            }
        ],
    }
    assert [r["Name"] for r in state.records("Account")] == ["A", "C"]
    assert [r["Id"] for r in state.records("Account")] == [first["id"], third["id"]]
    assert response.headers["Sforce-Limit-Info"] == "api-usage=1/100000"


def test_all_or_none_rolls_back_every_record_when_one_fails(
    http: httpx.Client, state: SalesforceState
) -> None:
    response = http.post(
        COLL,
        json={"allOrNone": True, "records": [account("A"), account("B" * 300), account("C")]},
    )
    assert response.status_code == 200
    results = response.json()
    assert [r["success"] for r in results] == [False, False, False]
    assert [r["errors"][0]["statusCode"] for r in results] == [
        ROLLED_BACK,
        "STRING_TOO_LONG",
        ROLLED_BACK,
    ]
    assert all("id" not in r for r in results)
    assert state.records("Account") == []
    assert state.changes.events("/data/ChangeEvents") == []  # nothing committed, nothing told


def test_update_by_id_reports_each_record_and_all_or_none_restores_values(
    http: httpx.Client, state: SalesforceState
) -> None:
    a, b = state.create("Account", {"Name": "A"}), state.create("Account", {"Name": "B"})
    partial = http.patch(
        COLL,
        json={
            "records": [
                {"attributes": {"type": "Account"}, "id": a, "Name": "A2"},
                {"attributes": {"type": "Account"}, "Name": "no id"},
            ]
        },
    ).json()
    assert partial[0] == {"id": a, "success": True, "errors": []}
    assert partial[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    whole = http.patch(
        COLL,
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Account"}, "Id": a, "Name": "A3"},
                {"attributes": {"type": "Account"}, "Id": b, "Name": ""},
            ],
        },
    ).json()
    assert whole[0] == {"id": a, "success": False, "errors": [whole[0]["errors"][0]]}
    assert whole[0]["errors"][0]["statusCode"] == ROLLED_BACK
    assert whole[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert [r["Name"] for r in state.records("Account")] == ["A2", "B"]


def test_upsert_by_external_id_says_created_per_record(
    http: httpx.Client, state: SalesforceState
) -> None:
    existing = state.create("Account", {"Name": "Old", "Hub_Id__c": "C-1"})
    response = http.patch(
        f"{COLL}/Account/Hub_Id__c",
        json={
            "allOrNone": False,
            "records": [
                account("New", Hub_Id__c="C-2"),
                account("Renamed", Hub_Id__c="c-1"),
                account("Nameless"),
            ],
        },
    )
    created, updated, missing = response.json()
    assert created["success"] is True
    assert created["created"] is True
    assert updated == {"id": existing, "success": True, "errors": [], "created": False}
    assert missing["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert {r["Hub_Id__c"]: r["Name"] for r in state.records("Account")} == {
        "C-1": "Renamed",
        "C-2": "New",
    }


def test_upsert_refuses_duplicates_in_the_request_and_in_the_org(
    http: httpx.Client, state: SalesforceState
) -> None:
    for _ in range(2):
        state.create("Account", {"Name": "Twin", "Hub_Id__c": "T"})
    results = http.patch(
        f"{COLL}/Account/Hub_Id__c",
        json={
            "records": [
                account("X", Hub_Id__c="D"),
                account("Y", Hub_Id__c="d"),
                account("Z", Hub_Id__c="T"),
            ]
        },
    ).json()
    assert [r["errors"][0]["statusCode"] for r in results] == ["DUPLICATE_EXTERNAL_ID"] * 3
    assert len(state.records("Account")) == 2


def test_upsert_needs_an_external_id_field_and_v46(http: httpx.Client) -> None:
    body = {"records": [account("A", Name__c="x")]}
    assert http.patch(f"{COLL}/Account/Name", json=body).status_code == 404
    old = http.patch(
        "/services/data/v45.0/composite/sobjects/Account/Hub_Id__c", json={"records": []}
    )
    assert old.status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"records": [account(f"A{i}") for i in range(201)]}, "EXCEEDED_ID_LIMIT"),
        ({"records": [{"Name": "typeless"}]}, "INVALID_TYPE"),
        ({"allOrNone": True}, "JSON_PARSER_ERROR"),
    ],
)
def test_malformed_requests_are_refused_as_a_whole(
    http: httpx.Client, state: SalesforceState, body: dict[str, Any], code: str
) -> None:
    response = http.post(COLL, json=body)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code
    assert state.records("Account") == []


def test_exactly_200_records_are_accepted(http: httpx.Client, state: SalesforceState) -> None:
    response = http.post(COLL, json={"records": [account(f"A{i}") for i in range(200)]})
    assert response.status_code == 200
    assert all(r["success"] for r in response.json())
    assert len(state.records("Account")) == 200


def test_retrieve_returns_the_fields_asked_for_and_null_for_unknown_ids(
    http: httpx.Client, state: SalesforceState
) -> None:
    a = state.create("Account", {"Name": "A", "BillingCity": "Paris"})
    gone = state.create("Account", {"Name": "Gone"})
    state.delete("Account", gone)
    response = http.get(
        f"{COLL}/Account", params={"ids": f"{a},{gone}", "fields": "Name,BillingCity"}
    )
    assert response.json() == [
        {
            "attributes": {"type": "Account", "url": f"{API}/sobjects/Account/{a}"},
            "Name": "A",
            "BillingCity": "Paris",
        },
        None,
    ]
    by_post = http.post(f"{COLL}/Account", json={"ids": [a], "fields": ["Name"]})
    assert by_post.json()[0]["Name"] == "A"
    assert http.get(f"{COLL}/Account", params={"ids": a}).status_code == 400


def test_delete_reports_each_id_and_all_or_none_keeps_everything(
    http: httpx.Client, state: SalesforceState
) -> None:
    a, b = state.create("Account", {"Name": "A"}), state.create("Account", {"Name": "B"})
    kept = http.delete(COLL, params={"ids": f"{a},001Dn00000000ZZIAA", "allOrNone": "true"})
    assert [r["success"] for r in kept.json()] == [False, False]
    assert kept.json()[0]["errors"][0]["statusCode"] == ROLLED_BACK
    assert len(state.records("Account")) == 2
    partial = http.delete(COLL, params={"ids": f"{a},{b}"}).json()
    assert partial == [
        {"id": a, "success": True, "errors": []},
        {"id": b, "success": True, "errors": []},
    ]
    assert state.records("Account") == []
