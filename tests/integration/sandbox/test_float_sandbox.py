"""Contract tests of the Float v3 emulator over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from interlock.sandbox.faults import Faults
from interlock.sandbox.firm import generate_firm
from interlock.sandbox.float_ import DEMO_TOKEN, FloatState, create_app, seed_from_firm
from interlock.sandbox.server import SandboxServer

API = "/v3"
AGENT = "Interlock contract tests (ops@firm.example)"


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
def state(clock: Clock) -> FloatState:
    return FloatState(clock=clock)


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def server(state: FloatState, faults: Faults) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(state, faults)) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}", "User-Agent": AGENT}
    with httpx.Client(base_url=server.base_url + API, headers=headers) as http:
        yield http


def make_person(client: httpx.Client, name: str = "Ada Costa", **fields: Any) -> int:
    response = client.post("/people", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["people_id"])


def make_project(client: httpx.Client, name: str = "Rollout", **fields: Any) -> int:
    response = client.post("/projects", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["project_id"])


def make_task(client: httpx.Client, project_id: int, people_id: int, **fields: Any) -> int:
    body = {
        "project_id": project_id,
        "people_id": people_id,
        "start_date": "2027-01-04",
        "end_date": "2027-01-15",
        "hours": 4,
        **fields,
    }
    response = client.post("/tasks", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["task_id"])


# -- authentication and identification ----------------------------------------------------------


def test_requests_without_a_valid_token_get_401_in_yii_shape(server: SandboxServer) -> None:
    for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = httpx.get(
            server.base_url + API + "/people", headers={**auth, "User-Agent": AGENT}
        )
        assert response.status_code == 401
        body = response.json()
        assert (body["status"], body["name"]) == (401, "Unauthorized")


@pytest.mark.parametrize("agent", [None, "", "python-httpx/0.28", "Interlock (ops)"])
def test_a_user_agent_without_app_name_and_contact_email_is_refused(
    server: SandboxServer, agent: str | None
) -> None:
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    with httpx.Client(headers=headers) as http:
        if agent is None:
            del http.headers["User-Agent"]
        else:
            http.headers["User-Agent"] = agent
        response = http.get(server.base_url + API + "/people")
    assert response.status_code == 400
    assert "User-Agent" in response.json()["message"]


# -- lists and paging ---------------------------------------------------------------------------


def test_lists_are_bare_arrays_with_pagination_headers(
    client: httpx.Client, state: FloatState
) -> None:
    for i in range(7):
        state.create("people", {"name": f"Person {i}"})
    response = client.get("/people", params={"per-page": 3, "page": 2})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert [p["name"] for p in body] == ["Person 3", "Person 4", "Person 5"]
    assert response.headers["X-Pagination-Total-Count"] == "7"
    assert response.headers["X-Pagination-Page-Count"] == "3"
    assert response.headers["X-Pagination-Current-Page"] == "2"
    assert response.headers["X-Pagination-Per-Page"] == "3"


def test_page_size_defaults_to_50_and_is_capped_at_200(
    client: httpx.Client, state: FloatState
) -> None:
    for i in range(205):
        state.create("clients", {"name": f"Client {i}"})
    default = client.get("/clients")
    assert len(default.json()) == 50
    assert default.headers["X-Pagination-Per-Page"] == "50"
    capped = client.get("/clients", params={"per-page": 1000})
    assert len(capped.json()) == 200
    assert capped.headers["X-Pagination-Page-Count"] == "2"


def test_a_page_past_the_last_answers_the_last_page(
    client: httpx.Client, state: FloatState
) -> None:
    for i in range(3):
        state.create("clients", {"name": f"Client {i}"})
    response = client.get("/clients", params={"per-page": 2, "page": 9})
    assert response.headers["X-Pagination-Current-Page"] == "2"
    assert [c["name"] for c in response.json()] == ["Client 2"]


def test_fields_limits_the_attributes_answered(client: httpx.Client) -> None:
    make_person(client, email="ada@firm.example")
    [person] = client.get("/people", params={"fields": "people_id,email"}).json()
    assert set(person) == {"people_id", "email"}


# -- writes -------------------------------------------------------------------------------------


def test_create_answers_201_with_location_and_the_object(client: httpx.Client) -> None:
    response = client.post(
        "/people", json={"name": "Sarah-Jane Smith", "email": "sj@firm.example", "job_title": "PM"}
    )
    assert response.status_code == 201
    person = response.json()
    assert person["people_id"] > 0
    assert (person["name"], person["active"], person["people_type_id"]) == (
        "Sarah-Jane Smith",
        1,
        1,
    )
    location = response.headers["Location"]
    assert location.endswith(f"/v3/people/{person['people_id']}")
    assert httpx.get(location, headers=client.headers).json() == person


def test_a_task_is_an_allocation_with_hours_per_day(client: httpx.Client) -> None:
    project_id, people_id = make_project(client), make_person(client)
    task_id = make_task(client, project_id, people_id, hours=6.5, status=1, notes="kick-off")
    task = client.get(f"/tasks/{task_id}").json()
    assert (task["project_id"], task["people_id"], task["people_ids"]) == (
        project_id,
        people_id,
        None,
    )
    assert (task["start_date"], task["end_date"], task["hours"]) == (
        "2027-01-04",
        "2027-01-15",
        6.5,
    )
    assert (task["status"], task["notes"], task["billable"], task["repeat_state"]) == (
        1,
        "kick-off",
        1,
        0,
    )
    assert task["created"] == task["modified"] == "2026-11-26 09:00:00"


def test_patch_updates_and_moves_modified_only_on_a_change(
    client: httpx.Client, clock: Clock
) -> None:
    project_id = make_project(client, notes="first")
    clock.tick(minutes=5)
    same = client.patch(f"/projects/{project_id}", json={"notes": "first"})
    assert same.status_code == 200
    assert same.json()["modified"] == "2026-11-26 09:00:00"
    changed = client.patch(f"/projects/{project_id}", json={"notes": "second", "active": 0})
    assert (changed.json()["notes"], changed.json()["active"]) == ("second", 0)
    assert changed.json()["modified"] == "2026-11-26 09:05:00"
    assert changed.json()["name"] == "Rollout"


def test_delete_answers_204_and_takes_the_projects_tasks_along(
    client: httpx.Client, state: FloatState
) -> None:
    project_id, people_id = make_project(client), make_person(client)
    task_id = make_task(client, project_id, people_id)
    response = client.delete(f"/projects/{project_id}")
    assert response.status_code == 204
    assert client.get(f"/projects/{project_id}").status_code == 404
    assert client.get(f"/tasks/{task_id}").status_code == 404
    assert [t["id"] for t in state.tombstones("tasks")] == [task_id]


def test_validation_errors_are_422_with_a_field_message_array(client: httpx.Client) -> None:
    response = client.post("/tasks", json={"start_date": "2027-01-09", "end_date": "2027-01-02"})
    assert response.status_code == 422
    problems = response.json()
    assert isinstance(problems, list)
    fields = {p["field"] for p in problems}
    assert {"project_id", "people_id", "end_date", "hours"} <= fields
    assert all(p["message"] for p in problems)


def test_unknown_people_and_project_ids_are_422(client: httpx.Client) -> None:
    response = client.post(
        "/tasks",
        json={
            "project_id": 999,
            "people_id": 999,
            "start_date": "2027-01-04",
            "end_date": "2027-01-04",
            "hours": 8,
        },
    )
    assert response.status_code == 422
    assert {p["field"] for p in response.json()} == {"project_id", "people_id"}


def test_hours_per_day_above_24_is_422(client: httpx.Client) -> None:
    project_id, people_id = make_project(client), make_person(client)
    response = client.post(
        "/tasks",
        json={
            "project_id": project_id,
            "people_id": people_id,
            "start_date": "2027-01-04",
            "end_date": "2027-01-04",
            "hours": 25,
        },
    )
    assert response.status_code == 422
    assert response.json()[0]["field"] == "hours"


def test_a_duplicate_email_is_422(client: httpx.Client) -> None:
    make_person(client, email="ada@firm.example")
    response = client.post("/people", json={"name": "Other Ada", "email": "ADA@firm.example"})
    assert response.status_code == 422
    assert response.json()[0]["field"] == "email"


def test_a_body_that_is_not_json_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/people", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_timeoff_accepts_people_ids_or_people_id(client: httpx.Client) -> None:
    people_id = make_person(client)
    types = client.get("/timeoff-types").json()
    base = {"timeoff_type_id": types[0]["timeoff_type_id"], "start_date": "2027-12-24"}
    full_day = client.post(
        "/timeoffs",
        json={**base, "end_date": "2027-12-26", "people_ids": [people_id], "full_day": 1},
    )
    hours = client.post(
        "/timeoffs", json={**base, "end_date": "2027-12-24", "people_id": people_id, "hours": 4}
    )
    assert (full_day.status_code, hours.status_code) == (201, 201)
    assert full_day.json()["people_ids"] == hours.json()["people_ids"] == [people_id]
    assert (full_day.json()["hours"], hours.json()["hours"]) == (None, 4.0)


# -- change detection ---------------------------------------------------------------------------


def test_modified_since_keeps_records_modified_at_or_after_it(
    client: httpx.Client, clock: Clock
) -> None:
    old = make_person(client, "Old Timer")
    clock.tick(days=1, hours=2)
    new = make_person(client, "New Starter")
    by_date = client.get("/people", params={"modified_since": "2026-11-27"}).json()
    by_time = client.get("/people", params={"modified_since": "2026-11-27 11:00:00"}).json()
    later = client.get("/people", params={"modified_since": "2026-11-27T11:00:01Z"}).json()
    assert [p["people_id"] for p in by_date] == [new]
    assert [p["people_id"] for p in by_time] == [new]
    assert later == []
    client.patch(f"/people/{old}", json={"job_title": "Partner"})
    again = client.get("/people", params={"modified_since": "2026-11-27"}).json()
    assert {p["people_id"] for p in again} == {old, new}
    bad = client.get("/people", params={"modified_since": "yesterday"})
    assert bad.status_code == 400


def test_task_date_filters_keep_allocations_overlapping_the_range(client: httpx.Client) -> None:
    project_id, people_id = make_project(client), make_person(client)
    january = make_task(client, project_id, people_id)
    make_task(client, project_id, people_id, start_date="2027-03-01", end_date="2027-03-05")
    found = client.get("/tasks", params={"start_date": "2027-01-10", "end_date": "2027-02-01"})
    assert [t["task_id"] for t in found.json()] == [january]


# -- rate limits and faults ---------------------------------------------------------------------


def test_the_101st_write_in_a_minute_is_429_with_retry_after(
    client: httpx.Client, clock: Clock, state: FloatState
) -> None:
    for i in range(100):
        assert client.post("/clients", json={"name": f"Client {i}"}).status_code == 201
        clock.tick(seconds=0.2)
    refused = client.post("/clients", json={"name": "One too many"})
    assert refused.status_code == 429
    assert refused.json()["status"] == 429
    assert int(refused.headers["Retry-After"]) == 40  # the first write leaves the window then
    assert client.get("/clients").status_code == 200  # reads have a budget of their own
    clock.tick(seconds=40)
    assert client.post("/clients", json={"name": "Welcome back"}).status_code == 201
    usage = state.usage()
    assert (usage["writes_total"], usage["writes_rejected"], usage["writes_peak"]) == (101, 1, 100)


def test_the_201st_read_in_a_minute_is_429(client: httpx.Client) -> None:
    statuses = [client.get("/clients").status_code for _ in range(201)]
    assert statuses[:200] == [200] * 200
    assert statuses[200] == 429


def test_limits_are_configurable_per_state(clock: Clock) -> None:
    state = FloatState(clock=clock, writes_per_minute=2, reads_per_minute=None)
    with SandboxServer(create_app(state)) as server:
        headers = {"Authorization": f"Bearer {DEMO_TOKEN}", "User-Agent": AGENT}
        with httpx.Client(base_url=server.base_url + API, headers=headers) as http:
            codes = [http.post("/clients", json={"name": f"C{i}"}).status_code for i in range(3)]
            reads = [http.get("/clients").status_code for _ in range(250)]
    assert codes == [201, 201, 429]
    assert set(reads) == {200}


def test_injected_faults_answer_in_float_shape(client: httpx.Client, faults: Faults) -> None:
    faults.fail_next(503, 429)
    unavailable = client.get("/people")
    limited = client.get("/people")
    assert (unavailable.status_code, unavailable.json()["status"]) == (503, 503)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    assert client.get("/people").status_code == 200


# -- seeding and inspection ---------------------------------------------------------------------


def test_seed_from_firm_adds_one_employee_per_consultant_and_no_projects(
    client: httpx.Client, state: FloatState
) -> None:
    firm = generate_firm(seed=3, deals=2, consultants=12)
    seed_from_firm(state, firm)
    people = client.get("/people").json()
    assert sorted(p["email"] for p in people) == sorted(c.email for c in firm.consultants)
    ada = next(p for p in people if p["email"] == firm.consultants[0].email)
    assert ada["job_title"] == firm.consultants[0].role
    assert ada["people_type_id"] == 1
    assert ada["department"]["name"] in {p.name for p in firm.practices}
    assert client.get("/projects").json() == []


def test_admin_records_lists_a_table_without_auth(server: SandboxServer, state: FloatState) -> None:
    state.create("clients", {"name": "Acme"})
    response = httpx.get(server.base_url + "/__admin/records/clients")
    assert [c["name"] for c in response.json()] == ["Acme"]
    assert httpx.get(server.base_url + "/__admin/records/nope").status_code == 404
