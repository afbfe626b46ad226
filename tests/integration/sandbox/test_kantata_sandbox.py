"""Contract tests of the Kantata OX emulator over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from interlock.sandbox.faults import Faults
from interlock.sandbox.firm import generate_firm
from interlock.sandbox.kantata import DEMO_TOKEN, KantataState, create_app, seed_from_firm
from interlock.sandbox.server import SandboxServer

API = "/api/v1"


class Clock:
    """A settable clock for the sandbox."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> KantataState:
    return KantataState(clock=clock)


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def server(state: KantataState, faults: Faults) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(state, faults)) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    with httpx.Client(base_url=server.base_url + API, headers=headers) as http:
        yield http


def make_workspace(client: httpx.Client, title: str = "Acme - Rollout", **fields: Any) -> str:
    response = client.post(
        "/workspaces", json={"workspace": {"title": title, "creator_role": "maven", **fields}}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["results"][0]["id"])


def test_requests_without_a_valid_token_get_401_oauth_error(server: SandboxServer) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = httpx.get(server.base_url + API + "/workspaces", headers=headers)
        assert response.status_code == 401
        assert response.json()["errors"][0]["type"] == "oauth"


def test_create_answers_200_with_the_keyed_envelope_and_string_ids(client: httpx.Client) -> None:
    response = client.post(
        "/workspaces",
        json={
            "workspace": {
                "title": "Acme",
                "creator_role": "maven",
                "price": "1234.5",
                "currency": "EUR",
                "start_date": "2026-12-01",
                "due_date": "2027-03-31",
            }
        },
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"]
    body = response.json()
    workspace_id = body["results"][0]["id"]
    assert body["count"] == 1
    assert body["results"] == [{"key": "workspaces", "id": workspace_id}]
    assert isinstance(workspace_id, str)
    workspace = body["workspaces"][workspace_id]
    assert workspace["price_in_cents"] == 123450
    assert workspace["currency"] == "EUR"
    assert workspace["status"]["message"]


def test_missing_title_and_role_are_validation_errors_naming_the_fields(
    client: httpx.Client,
) -> None:
    response = client.post("/workspaces", json={"workspace": {"description": "x"}})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["type"], e["field"]) for e in errors} == {
        ("validation", "title"),
        ("validation", "creator_role"),
    }
    assert "Please give your project a title" in {e["message"] for e in errors}


def test_missing_wrapper_key_is_a_400_system_error(client: httpx.Client) -> None:
    response = client.post("/workspaces", json={"title": "not wrapped"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["type"] == "system"


def test_bulk_create_takes_the_plural_key_and_is_all_or_nothing(
    client: httpx.Client,
    state: KantataState,
) -> None:
    ok = client.post(
        "/workspaces",
        json={
            "workspaces": [
                {"title": "One", "creator_role": "maven"},
                {"title": "Two", "creator_role": "buyer"},
            ]
        },
    )
    assert ok.status_code == 200
    assert ok.json()["count"] == 2
    bad = client.post(
        "/workspaces",
        json={
            "workspaces": [{"title": "Three", "creator_role": "maven"}, {"creator_role": "maven"}]
        },
    )
    assert bad.status_code == 422
    assert [w["title"] for w in state.records("workspaces")] == ["One", "Two"]


def test_paging_defaults_to_20_caps_at_200_and_prefers_limit_offset(
    client: httpx.Client,
) -> None:
    client.post(
        "/workspaces",
        json={"workspaces": [{"title": f"W{i:02d}", "creator_role": "maven"} for i in range(45)]},
    )
    first = client.get("/workspaces").json()
    assert first["meta"] == {"count": 45, "page_count": 3, "page_number": 1, "page_size": 20}
    assert len(first["results"]) == 20
    third = client.get("/workspaces", params={"page": 3}).json()
    assert len(third["results"]) == 5
    assert client.get("/workspaces", params={"per_page": 500}).json()["meta"]["page_size"] == 200
    sliced = client.get(
        "/workspaces", params={"limit": 10, "offset": 40, "page": 1, "order": "title:asc"}
    ).json()
    assert [sliced["workspaces"][r["id"]]["title"] for r in sliced["results"]] == [
        "W40",
        "W41",
        "W42",
        "W43",
        "W44",
    ]


def test_update_is_put_and_delete_is_204_then_404(client: httpx.Client) -> None:
    workspace_id = make_workspace(client)
    updated = client.put(f"/workspaces/{workspace_id}", json={"workspace": {"title": "Renamed"}})
    assert updated.status_code == 200
    assert updated.json()["workspaces"][workspace_id]["title"] == "Renamed"
    assert client.delete(f"/workspaces/{workspace_id}").status_code == 204
    missing = client.get(f"/workspaces/{workspace_id}")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["type"] == "system"


def test_archived_workspaces_are_hidden_unless_asked_for(client: httpx.Client) -> None:
    workspace_id = make_workspace(client)
    client.put(f"/workspaces/{workspace_id}", json={"workspace": {"archived": True}})
    assert client.get("/workspaces").json()["count"] == 0
    assert client.get(f"/workspaces/{workspace_id}").status_code == 404
    assert client.get("/workspaces", params={"include_archived": "true"}).json()["count"] == 1
    assert (
        client.get(
            f"/workspaces/{workspace_id}.json", params={"include_archived": "true"}
        ).status_code
        == 200
    )


def test_only_returns_the_ids_that_exist_without_404(client: httpx.Client) -> None:
    workspace_id = make_workspace(client)
    body = client.get("/workspaces", params={"only": f"{workspace_id},999999"}).json()
    assert [r["id"] for r in body["results"]] == [workspace_id]


def test_search_matches_words_and_field_specific_terms(client: httpx.Client) -> None:
    make_workspace(client, "Acme Rollout", description="[interlock:project_1]")
    make_workspace(client, "Globex Audit", description="plain")
    by_title = client.get("/workspaces", params={"search": "globex"}).json()
    assert by_title["count"] == 1
    tagged = client.get(
        "/workspaces", params={"search": "description:'[interlock:project_1]'"}
    ).json()
    assert [w["title"] for w in tagged["workspaces"].values()] == ["Acme Rollout"]
    assert client.get("/workspaces", params={"search": "budget:'x'"}).status_code == 400


def test_created_and_updated_after_filter_by_time(
    client: httpx.Client,
    clock: Clock,
) -> None:
    old = make_workspace(client, "Old")
    clock.tick(hours=1)
    new = make_workspace(client, "New")
    mark = (clock.now - dt.timedelta(minutes=30)).isoformat()
    assert [
        r["id"] for r in client.get("/workspaces", params={"created_after": mark}).json()["results"]
    ] == [new]
    clock.tick(hours=1)
    client.put(f"/workspaces/{old}", json={"workspace": {"title": "Old, changed"}})
    recent = (clock.now - dt.timedelta(minutes=1)).isoformat()
    assert [
        r["id"]
        for r in client.get("/workspaces", params={"updated_after": recent}).json()["results"]
    ] == [old]


def test_stories_need_an_existing_workspace_and_a_known_type(client: httpx.Client) -> None:
    response = client.post(
        "/stories",
        json={"story": {"title": "Build", "story_type": "task", "workspace_id": "424242"}},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "workspace_id"
    workspace_id = make_workspace(client)
    wrong = client.post(
        "/stories",
        json={"story": {"title": "Build", "story_type": "epic", "workspace_id": workspace_id}},
    )
    assert [e["field"] for e in wrong.json()["errors"]] == ["story_type"]
    made = client.post(
        "/stories",
        json={
            "story": {
                "title": "Build",
                "story_type": "task",
                "workspace_id": workspace_id,
                "time_estimate_in_minutes": 600,
                "budget_estimate_in_cents": 150000,
            }
        },
    )
    story = next(iter(made.json()["stories"].values()))
    assert (story["workspace_id"], story["time_estimate_in_minutes"]) == (workspace_id, 600)


def test_deleting_a_workspace_deletes_its_stories(
    client: httpx.Client,
    state: KantataState,
) -> None:
    workspace_id = make_workspace(client)
    client.post(
        "/stories",
        json={"story": {"title": "Build", "story_type": "task", "workspace_id": workspace_id}},
    )
    client.delete(f"/workspaces/{workspace_id}")
    assert state.records("stories") == []


def reference(subject_id: str, ref: str = "project_1") -> dict[str, Any]:
    return {
        "external_reference": {
            "subject_type": "Workspace",
            "subject_id": subject_id,
            "service_name": "interlock",
            "service_model": "project",
            "service_model_ref": ref,
            "status": "successful",
        }
    }


def test_create_or_update_keeps_one_reference_while_post_makes_another(
    client: httpx.Client,
) -> None:
    workspace_id = make_workspace(client)
    first = client.post("/external_references/create_or_update", json=reference(workspace_id))
    again = client.post("/external_references/create_or_update", json=reference(workspace_id))
    assert first.json()["results"] == again.json()["results"]
    plain = client.post("/external_references", json=reference(workspace_id))
    assert plain.json()["results"] != first.json()["results"]
    listed = client.get("/external_references", params={"subject_type": "Workspace"}).json()
    assert listed["count"] == 2


def test_references_need_subject_type_to_list_and_an_existing_subject_to_create(
    client: httpx.Client,
) -> None:
    assert client.get("/external_references").status_code == 400
    response = client.post("/external_references/create_or_update", json=reference("777"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "subject_id"


def test_workspaces_filter_by_external_reference_and_side_load_them(
    client: httpx.Client,
) -> None:
    mine = make_workspace(client, "Mine")
    make_workspace(client, "Other")
    client.post("/external_references/create_or_update", json=reference(mine, "project_7"))
    body = client.get(
        "/workspaces",
        params={
            "external_reference_service_name": "interlock",
            "external_reference_service_model_refs": "project_6,project_7",
            "include": "external_references",
        },
    ).json()
    assert [r["id"] for r in body["results"]] == [mine]
    ref_ids = body["workspaces"][mine]["external_reference_ids"]
    assert body["external_references"][ref_ids[0]]["service_model_ref"] == "project_7"
    assert client.get("/workspaces", params={"include": "nonsense"}).status_code == 400


def events(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    body = client.get("/subscribed_events", params={"per_page": 200, **params}).json()
    return [body["subscribed_events"][r["id"]] for r in body["results"]]


def test_subscribed_events_record_changes_newest_first_with_payloads_on_request(
    client: httpx.Client,
) -> None:
    workspace_id = make_workspace(client, "Before")
    client.put(f"/workspaces/{workspace_id}", json={"workspace": {"title": "After"}})
    plain = events(client)
    assert [e["event_type"] for e in plain] == ["workspace:updated", "workspace:created"]
    assert "current_payload" not in plain[0]
    full = events(client, optional_fields="current_payload,payload_changes", order="created_at:asc")
    assert full[1]["current_payload"]["title"] == "After"
    assert full[1]["payload_changes"]["title"] == ["Before", "After"]
    assert {e["subject_id"] for e in full} == {workspace_id}


def test_an_update_that_changes_nothing_records_no_event(client: httpx.Client) -> None:
    workspace_id = make_workspace(client, "Same")
    client.put(f"/workspaces/{workspace_id}", json={"workspace": {"title": "Same"}})
    assert len(events(client)) == 1


def test_subscribed_events_filter_by_type_and_time_and_keep_nine_days(
    client: httpx.Client,
    clock: Clock,
) -> None:
    workspace_id = make_workspace(client)
    clock.tick(days=5)
    client.post(
        "/stories",
        json={"story": {"title": "Build", "story_type": "task", "workspace_id": workspace_id}},
    )
    assert [e["event_type"] for e in events(client, event_types="story:created")] == [
        "story:created"
    ]
    since = (clock.now - dt.timedelta(days=1)).isoformat()
    assert len(events(client, created_after=since)) == 1
    clock.tick(days=5)
    assert [e["event_type"] for e in events(client)] == ["story:created"]


def test_chaos_mode_delivers_duplicates_and_out_of_order_but_loses_nothing(
    client: httpx.Client,
    state: KantataState,
) -> None:
    state.chaos_events = True
    workspace_id = make_workspace(client, "v0")
    for version in range(1, 30):
        client.put(f"/workspaces/{workspace_id}", json={"workspace": {"title": f"v{version}"}})
    delivered = events(client, order="created_at:asc")
    ids = [int(e["id"]) for e in delivered]
    assert len(ids) > len(set(ids)), "some events come twice"
    assert ids != sorted(ids), "events come out of order"
    assert set(ids) == set(range(1, 31)), "none is lost"


def test_throttling_answers_429_without_retry_after(
    client: httpx.Client,
    state: KantataState,
) -> None:
    state.rate_limit = 2
    assert client.get("/workspaces").status_code == 200
    assert client.get("/workspaces").status_code == 200
    throttled = client.get("/workspaces")
    assert throttled.status_code == 429
    assert throttled.json() == {"errors": [{"type": "system", "message": "Too many requests"}]}
    assert "retry-after" not in throttled.headers


def test_injected_faults_answer_in_kantata_error_shape(
    client: httpx.Client,
    faults: Faults,
) -> None:
    faults.fail_next(500)
    response = client.get("/workspaces")
    assert response.status_code == 500
    assert response.json()["errors"][0]["type"] == "system"
    assert client.get("/workspaces").status_code == 200


def test_admin_endpoint_lists_records_without_auth(
    server: SandboxServer,
    client: httpx.Client,
) -> None:
    make_workspace(client, "Visible")
    records = httpx.get(server.base_url + "/__admin/records/workspaces").json()
    assert [r["title"] for r in records] == ["Visible"]
    assert httpx.get(server.base_url + "/__admin/records/nope").status_code == 404


def test_seed_from_firm_makes_one_user_per_consultant(
    client: httpx.Client,
    state: KantataState,
) -> None:
    firm = generate_firm(3, consultants=12, deals=2)
    seed_from_firm(state, firm)
    body = client.get("/users", params={"per_page": 200}).json()
    users = [body["users"][r["id"]] for r in body["results"]]
    assert [(u["full_name"], u["email_address"], u["headline"]) for u in users] == [
        (c.name, c.email, c.role) for c in firm.consultants
    ]
