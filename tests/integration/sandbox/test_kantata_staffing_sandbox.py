"""Contract tests of the Kantata emulator's resources, allocations and assignments, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from interlock.sandbox.kantata import DEMO_TOKEN, KantataState, create_app
from interlock.sandbox.server import SandboxServer

API = "/api/v1"


@pytest.fixture
def state() -> KantataState:
    kantata = KantataState()
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
    return str(state.create("workspaces", {"title": "Acme", "creator_role": "maven"})["id"])


def listed(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [body[key][r["id"]] for r in body["results"] if r["key"] == key]


def post(client: httpx.Client, table: str, key: str, **fields: Any) -> httpx.Response:
    return client.post(f"/{table}", json={key: fields})


def resource(client: httpx.Client, workspace: str) -> str:
    made = post(
        client, "workspace_resources", "workspace_resource", workspace_id=workspace, user_id="1"
    )
    return str(listed(made.json(), "workspace_resources")[0]["id"])


def test_an_allocation_books_a_resource_for_a_total_of_minutes(
    client: httpx.Client,
    workspace: str,
) -> None:
    resource_id = resource(client, workspace)
    made = post(
        client,
        "workspace_allocations",
        "workspace_allocation",
        resource_id=resource_id,
        start_date="2026-03-02",
        end_date="2026-03-06",
        minutes=2100,
    )
    assert made.status_code == 200
    [allocation] = listed(made.json(), "workspace_allocations")
    assert (allocation["workspace_resource_id"], allocation["minutes"], allocation["hard"]) == (
        resource_id,
        2100,
        True,
    )
    assert "workspace_id" not in allocation
    shown = client.get(
        f"/workspace_allocations/{allocation['id']}",
        params={"include": "workspace,workspace_resource"},
    ).json()
    assert listed(shown, "workspace_allocations")[0]["workspace_id"] == workspace
    assert shown["workspace_resources"][resource_id]["user_id"] == "1"
    soft = client.put(
        f"/workspace_allocations/{allocation['id']}",
        json={"workspace_allocation": {"hard": False, "minutes": 1800}},
    )
    assert listed(soft.json(), "workspace_allocations")[0]["hard"] is False


def test_allocation_validation_names_the_fields(client: httpx.Client, workspace: str) -> None:
    response = post(
        client,
        "workspace_allocations",
        "workspace_allocation",
        resource_id="999",
        start_date="2026-03-06",
        end_date="2026-03-02",
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"resource_id", "minutes", "end_date"}


def test_allocations_filter_by_workspace_through_their_resource(
    client: httpx.Client,
    state: KantataState,
    workspace: str,
) -> None:
    other = str(state.create("workspaces", {"title": "Other", "creator_role": "maven"})["id"])
    body = {"start_date": "2026-03-02", "end_date": "2026-03-02", "minutes": 60}
    mine = post(
        client,
        "workspace_allocations",
        "workspace_allocation",
        resource_id=resource(client, workspace),
        **body,
    )
    post(
        client,
        "workspace_allocations",
        "workspace_allocation",
        resource_id=resource(client, other),
        **body,
    )
    found = listed(
        client.get("/workspace_allocations", params={"workspace_id": workspace}).json(),
        "workspace_allocations",
    )
    assert [a["id"] for a in found] == [listed(mine.json(), "workspace_allocations")[0]["id"]]


def test_an_assignment_puts_a_user_on_a_story_once(
    client: httpx.Client,
    state: KantataState,
    workspace: str,
) -> None:
    story = state.create(
        "stories", {"title": "Build", "story_type": "task", "workspace_id": workspace}
    )
    first = post(
        client,
        "assignments",
        "assignment",
        story_id=story["id"],
        assignee_id="1",
        allocated_minutes=600,
    )
    assert first.status_code == 200
    assert listed(first.json(), "assignments")[0]["current"] is True
    twice = post(client, "assignments", "assignment", story_id=story["id"], assignee_id="1")
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["field"] == "assignee_id"
    by_workspace = client.get(
        "/assignments", params={"workspace_id": workspace, "include": "assignee"}
    ).json()
    assert [a["allocated_minutes"] for a in listed(by_workspace, "assignments")] == [600]
    assert by_workspace["users"]["1"]["full_name"] == "Ana Lima"


def test_deleting_a_workspace_takes_its_staffing_and_logs_each_delete(
    client: httpx.Client,
    state: KantataState,
    workspace: str,
) -> None:
    resource_id = resource(client, workspace)
    post(
        client,
        "workspace_allocations",
        "workspace_allocation",
        resource_id=resource_id,
        start_date="2026-03-02",
        end_date="2026-03-02",
        minutes=60,
    )
    assert client.delete(f"/workspaces/{workspace}").status_code == 204
    assert state.records("workspace_resources") == state.records("workspace_allocations") == []
    deleted = [e["event_type"] for e in state.events() if e["event_type"].endswith(":deleted")]
    assert deleted == [
        "workspace:deleted",
        "workspace_resource:deleted",
        "workspace_allocation:deleted",
    ]
