"""Contract tests of the Kantata emulator's time entries, expenses and approvals, over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from interlock.sandbox.kantata import DEMO_TOKEN, KantataState, create_app
from interlock.sandbox.server import SandboxServer

API = "/api/v1"


@pytest.fixture
def state() -> KantataState:
    kantata = KantataState(clock=lambda: dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC))
    kantata.add_user("Integration", "api@example.com", None)
    kantata.add_user("Ana Lima", "ana@example.com", "Architect")
    return kantata


@pytest.fixture
def client(state: KantataState) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    with (
        SandboxServer(create_app(state)) as server,
        httpx.Client(base_url=server.base_url + API, headers=headers) as http,
    ):
        yield http


@pytest.fixture
def workspace(state: KantataState) -> str:
    made = state.create("workspaces", {"title": "Acme", "creator_role": "maven"})
    return str(made["id"])


def listed(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [body[key][r["id"]] for r in body["results"] if r["key"] == key]


def log(client: httpx.Client, workspace: str, **fields: Any) -> dict[str, Any]:
    body = {"workspace_id": workspace, "date_performed": "2026-11-23", "time_in_minutes": 60}
    response = client.post("/time_entries", json={"time_entry": {**body, **fields}})
    assert response.status_code == 200, response.text
    return listed(response.json(), "time_entries")[0]


def test_a_time_entry_is_created_with_the_minimal_body_for_the_integration_user(
    client: httpx.Client,
    workspace: str,
) -> None:
    entry = log(client, workspace)
    assert (entry["user_id"], entry["time_in_minutes"], entry["approved"]) == ("1", 60, False)
    assert (entry["date_performed"], entry["currency"], entry["active_submission_id"]) == (
        "2026-11-23",
        "USD",
        None,
    )


def test_time_entry_validation_names_each_field(client: httpx.Client, workspace: str) -> None:
    response = client.post(
        "/time_entries",
        json={"time_entry": {"workspace_id": workspace, "time_in_minutes": 0, "user_id": "99"}},
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"date_performed", "time_in_minutes", "user_id"}
    assert all(e["type"] == "validation" for e in response.json()["errors"])


def test_time_entries_filter_by_dates_approval_and_workspace(
    client: httpx.Client,
    state: KantataState,
    workspace: str,
) -> None:
    first = log(client, workspace, date_performed="2026-11-02")
    second = log(client, workspace, date_performed="2026-11-20")
    other = state.create("workspaces", {"title": "Other", "creator_role": "maven"})
    third = log(client, other["id"], date_performed="2026-11-21")
    state.approve_time(second["id"])

    def ids(**params: Any) -> list[str]:
        return [
            e["id"]
            for e in listed(client.get("/time_entries", params=params).json(), "time_entries")
        ]

    assert ids(date_performed_between="2026-11-01:2026-11-20", workspace_id=workspace) == [
        second["id"],
        first["id"],
    ]
    assert ids(approved="true") == [second["id"]]
    assert first["id"] in ids(approved="false")
    assert ids(workspace_id=other["id"]) == [third["id"]]
    assert ids(order="id:asc") == [first["id"], second["id"], third["id"]]


def test_submitting_and_approving_time_through_timesheet_submissions(
    client: httpx.Client,
    workspace: str,
) -> None:
    entries = [log(client, workspace)["id"], log(client, workspace)["id"]]
    made = client.post(
        "/timesheet_submissions",
        json={
            "timesheet_submission": {
                "line_item_ids": entries,
                "title": "Week 48",
                "workspace_id": workspace,
            }
        },
    )
    assert made.status_code == 200
    [submission] = listed(made.json(), "timesheet_submissions")
    assert submission["status"] == "pending"
    locked = client.put(f"/time_entries/{entries[0]}", json={"time_entry": {"notes": "late"}})
    assert locked.status_code == 422
    approved = client.put(
        f"/timesheet_submissions/{submission['id']}/approve",
        json={"resolution": {"description": "ok"}},
    )
    assert listed(approved.json(), "timesheet_submissions")[0]["status"] == "approved"
    shown = client.get(
        "/time_entries", params={"only": ",".join(entries), "include": "active_submission"}
    ).json()
    assert all(e["approved"] for e in listed(shown, "time_entries"))
    assert list(shown["timesheet_submissions"]) == [submission["id"]]
    again = client.put(f"/timesheet_submissions/{submission['id']}/reject")
    assert again.status_code == 422
    assert client.delete(f"/time_entries/{entries[0]}").status_code == 422


def test_a_submission_covers_one_project_and_unsubmitted_items(
    client: httpx.Client,
    state: KantataState,
    workspace: str,
) -> None:
    other = state.create("workspaces", {"title": "Other", "creator_role": "maven"})
    mixed = [log(client, workspace)["id"], log(client, other["id"])["id"]]
    response = client.post(
        "/timesheet_submissions",
        json={
            "timesheet_submission": {
                "line_item_ids": mixed,
                "title": "W",
                "workspace_id": workspace,
            }
        },
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"workspace_id"}


def test_rejection_keeps_the_submission_readable_and_cancel_frees_the_entry(
    client: httpx.Client,
    state: KantataState,
    workspace: str,
) -> None:
    entry = log(client, workspace)["id"]
    submission = state.submit_time([entry])
    state.reject_time(entry)
    rejected = state.get("time_entries", entry)
    assert rejected is not None
    assert (rejected["approved"], rejected["active_submission_id"]) == (False, submission["id"])
    assert state.get("timesheet_submissions", submission["id"]) == {
        **submission,
        "status": "rejected",
        "resolved_at": rejected["updated_at"],
        "updated_at": rejected["updated_at"],
    }
    fixed = client.put(f"/time_entries/{entry}", json={"time_entry": {"time_in_minutes": 45}})
    assert fixed.status_code == 200
    again = state.submit_time([entry])
    cancelled = client.put(f"/timesheet_submissions/{again['id']}/cancel")
    assert listed(cancelled.json(), "timesheet_submissions")[0]["status"] == "canceled"
    assert (state.get("time_entries", entry) or {}).get("active_submission_id", "?") is None


def test_bulk_delete_of_time_entries_is_all_or_nothing(
    client: httpx.Client,
    state: KantataState,
    workspace: str,
) -> None:
    draft, approved = log(client, workspace)["id"], log(client, workspace)["id"]
    state.approve_time(approved)
    refused = client.delete("/time_entries", params={"ids": f"{draft},{approved}"})
    assert refused.status_code == 422
    assert len(state.records("time_entries")) == 2
    spare = log(client, workspace)["id"]
    assert client.delete("/time_entries", params={"ids": f"{draft},{spare}"}).status_code == 204
    assert [e["id"] for e in state.records("time_entries")] == [approved]


def test_expenses_take_amounts_in_cents_and_approve_through_expense_reports(
    client: httpx.Client,
    state: KantataState,
    workspace: str,
) -> None:
    made = client.post(
        "/expenses",
        json={
            "expense": {
                "workspace_id": workspace,
                "date": "2026-11-24",
                "category": "Travel",
                "amount_in_cents": 12345,
                "user_id": "2",
            }
        },
    )
    assert made.status_code == 200
    [expense] = listed(made.json(), "expenses")
    assert (expense["amount_in_cents"], expense["currency"], expense["user_id"]) == (
        12345,
        "USD",
        "2",
    )
    report = client.post(
        "/expense_report_submissions",
        json={"expense_report_submission": {"line_item_ids": [expense["id"]]}},
    )
    [submission] = listed(report.json(), "expense_report_submissions")
    assert (submission["workspace_id"], submission["user_id"]) == (workspace, "2")
    client.put(f"/expense_report_submissions/{submission['id']}/approve")
    assert (state.get("expenses", expense["id"]) or {}).get("approved") is True
    blank = client.post("/expenses", json={"expense": {"workspace_id": workspace}})
    assert {e["field"] for e in blank.json()["errors"]} == {"date", "category", "amount_in_cents"}


def test_time_and_expense_changes_are_subscribed_events(
    client: httpx.Client,
    state: KantataState,
    workspace: str,
) -> None:
    entry = state.log_time(workspace, None, "2", "2026-11-23", 30)
    state.approve_time(entry["id"])
    state.log_expense(workspace, "2", "2026-11-23", "Meals", 2000, approved=True)
    client.delete(f"/workspaces/{workspace}")
    body = client.get(
        "/subscribed_events",
        params={
            "event_types": "time_entry:created,time_entry:updated,time_entry:deleted,"
            "expense:created,expense:updated",
            "order": "created_at:asc",
            "optional_fields": "payload_changes",
        },
    ).json()
    events = listed(body, "subscribed_events")
    assert [e["event_type"] for e in events] == [
        "time_entry:created",
        "time_entry:updated",
        "expense:created",
        "expense:updated",
        "time_entry:deleted",
    ]
    assert events[1]["payload_changes"]["approved"] == [False, True]
    assert events[1]["subject_type"] == "TimeEntry"
