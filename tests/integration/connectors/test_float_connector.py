"""The Float connector against the Float emulator over real HTTP.

Time is fake and shared: the emulator's clock, the connector's budget clock and its sleeps
all read one ``FakeTime``, so pacing a minute's worth of requests takes no real minute.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from interlock.connectors.float_ import FloatConfig, FloatConnector
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
from interlock.model import Assignment, BillingType, Project, StaffingDemand, canonical_id
from interlock.sandbox.faults import FaultPlan, Faults
from interlock.sandbox.float_ import DEMO_TOKEN, FloatState, create_app
from interlock.sandbox.server import SandboxServer

START, END = dt.date(2027, 1, 4), dt.date(2027, 1, 29)  # four working weeks: 20 days


class FakeTime:
    """Monotonic seconds, wall-clock time and sleep, all moved by ``sleep``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> dt.datetime:
        return dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=self.seconds)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.seconds += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def state(fake: FakeTime) -> FloatState:
    return FloatState(clock=fake.now)


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def server(state: FloatState, faults: Faults) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(state, faults)) as running:
        yield running


def connect(server: SandboxServer, fake: FakeTime, **overrides: Any) -> FloatConnector:
    settings: dict[str, Any] = {
        "base_url": server.base_url,
        "access_token": SecretStr(DEMO_TOKEN),
        "user_agent": "Interlock tests (ops@firm.example)",
        "deletion_scan_seconds": 0,
        **overrides,
    }
    return FloatConnector(
        "float", FloatConfig(**settings), clock=fake.monotonic, sleep=fake.sleep, now=fake.now
    )


@pytest.fixture
def connector(server: SandboxServer, fake: FakeTime) -> Iterator[FloatConnector]:
    float_ = connect(server, fake)
    yield float_
    float_.close()


def person(state: FloatState, name: str = "Ada Costa", **fields: Any) -> str:
    email = name.lower().replace(" ", ".") + "@firm.example"
    body = {"name": name, "email": email, "job_title": "Architect", **fields}
    return str(state.create("people", body)["people_id"])


def make_project(project_id: str = "project_acme1", **changes: Any) -> Project:
    fields: dict[str, Any] = {
        "id": project_id,
        "name": "Northwind Bank - Data Platform",
        "customer_id": "cust_42",
        "start_date": START,
        "end_date": END,
        "billing_type": BillingType.TIME_AND_MATERIALS,
    }
    return Project(**{**fields, **changes})


def demand(demand_id: str = "demand_1", hours: str = "120", **changes: Any) -> StaffingDemand:
    fields: dict[str, Any] = {
        "id": demand_id,
        "project_id": "project_acme1",
        "role": "Architect",
        "hours": Decimal(hours),
        "start_date": START,
        "end_date": END,
    }
    return StaffingDemand(**{**fields, **changes})


def assignment(assignment_id: str = "assignment_1", **changes: Any) -> Assignment:
    fields: dict[str, Any] = {
        "id": assignment_id,
        "project_id": "project_acme1",
        "consultant_id": "consultant_ada",
        "start_date": START,
        "end_date": END,
        "hours_per_day": Decimal("6.5"),
    }
    return Assignment(**{**fields, **changes})


# -- projects -----------------------------------------------------------------------------------


def test_upserting_a_project_twice_makes_one_float_project(
    connector: FloatConnector, state: FloatState
) -> None:
    first = connector.upsert("project", make_project())
    again = connector.upsert("project", make_project())
    assert (first.created, again.created, again.native_id) == (True, False, first.native_id)
    [project] = state.records("projects")
    assert project["name"] == "Northwind Bank - Data Platform"
    assert (project["start_date"], project["end_date"]) == ("2027-01-04", "2027-01-29")
    assert project["project_code"] == "project_acme1"
    assert "[interlock:project:project_acme1]" in project["notes"]
    assert connector.find("project", "project_acme1") == first.native_id


def test_a_changed_project_is_patched_and_notes_a_planner_added_survive(
    connector: FloatConnector, state: FloatState
) -> None:
    native = connector.upsert("project", make_project()).native_id
    marked = state.get("projects", native)
    assert marked is not None
    state.update("projects", native, {"notes": f"Budget call on Fridays. {marked['notes']}"})
    connector.upsert("project", make_project(name="Renamed", status="closed"))
    project = state.get("projects", native)
    assert project is not None
    assert (project["name"], project["active"], project["status"]) == ("Renamed", 0, 3)
    assert project["notes"].startswith("Budget call on Fridays.")


def test_a_create_whose_answer_was_lost_is_found_by_its_marker(
    server: SandboxServer, state: FloatState, fake: FakeTime
) -> None:
    slow = {"once": True}

    def slow_create(table: str, action: str, record: dict[str, Any]) -> None:
        if table == "projects" and action == "created" and slow["once"]:
            slow["once"] = False
            time.sleep(0.6)  # the answer arrives after the client gave up

    state.on_write(slow_create)
    impatient = connect(server, fake, timeout_seconds=0.3)
    try:
        with pytest.raises(OutcomeUnknown):
            impatient.upsert("project", make_project())
        time.sleep(0.5)
        result = impatient.upsert("project", make_project())
    finally:
        impatient.close()
    assert not result.created
    assert len(state.records("projects")) == 1


# -- staffing demand on placeholders ------------------------------------------------------------


def test_demand_becomes_a_tentative_allocation_of_the_roles_placeholder(
    connector: FloatConnector, state: FloatState
) -> None:
    project = connector.upsert("project", make_project()).native_id
    result = connector.upsert("staffing_demand", demand(hours="120"), {"project": project})
    [placeholder] = [p for p in state.records("people") if p["people_type_id"] == 3]
    assert (placeholder["name"], placeholder["job_title"]) == (
        "Placeholder: Architect",
        "Architect",
    )
    [task] = state.records("tasks")
    assert str(task["task_id"]) == result.native_id
    assert task["people_id"] == placeholder["people_id"]
    assert (task["hours"], task["status"]) == (6.0, 1)  # 120 h over 20 working days, tentative
    assert (task["start_date"], task["end_date"]) == ("2027-01-04", "2027-01-29")


def test_demand_needing_more_than_a_day_per_day_is_split_and_shrinks_back(
    connector: FloatConnector, state: FloatState
) -> None:
    project = connector.upsert("project", make_project()).native_id
    big = connector.upsert("staffing_demand", demand(hours="250"), {"project": project})
    tasks = state.records("tasks")
    assert [t["hours"] for t in tasks] == [6.25, 6.25]  # 12.5 h a day in two allocations
    assert big.children == {"demand_1#2": str(tasks[1]["task_id"])}
    smaller = connector.upsert("staffing_demand", demand(hours="100"), {"project": project})
    [task] = state.records("tasks")
    assert (smaller.native_id, smaller.created, task["hours"]) == (big.native_id, False, 5.0)


def test_demands_of_one_role_share_one_placeholder_across_calls(
    connector: FloatConnector, state: FloatState
) -> None:
    project = connector.upsert("project", make_project()).native_id
    connector.upsert_many(
        "staffing_demand",
        [
            (demand("demand_1"), {"project": project}),
            (demand("demand_2", role="Analyst"), {"project": project}),
        ],
    )
    connector.upsert("staffing_demand", demand("demand_3"), {"project": project})
    placeholders = [p["name"] for p in state.records("people") if p["people_type_id"] == 3]
    assert placeholders == ["Placeholder: Architect", "Placeholder: Analyst"]
    assert len(state.records("tasks")) == 3


def test_upserting_the_same_demands_again_writes_nothing(
    connector: FloatConnector, state: FloatState
) -> None:
    project = connector.upsert("project", make_project()).native_id
    items = [(demand(f"demand_{i}"), {"project": project}) for i in range(3)]
    first = connector.upsert_many("staffing_demand", items)
    writes = state.usage()["writes_total"]
    again = connector.upsert_many("staffing_demand", items)
    assert [r.native_id for r in again] == [r.native_id for r in first]
    assert not any(r.created for r in again)
    assert state.usage()["writes_total"] == writes


def test_demand_on_no_working_day_is_a_contract_violation(connector: FloatConnector) -> None:
    weekend = demand(start_date=dt.date(2027, 1, 9), end_date=dt.date(2027, 1, 10))
    with pytest.raises(ContractViolation, match="no working day"):
        connector.upsert("staffing_demand", weekend, {"project": "2001"})


def test_missing_refs_are_a_programming_error(connector: FloatConnector) -> None:
    with pytest.raises(ValueError, match="refs\\['project'\\]"):
        connector.upsert("staffing_demand", demand())
    with pytest.raises(ValueError, match="refs\\['person'\\]"):
        connector.upsert("assignment", assignment(), {"project": "2001"})


# -- assignments --------------------------------------------------------------------------------


def test_an_assignment_is_a_confirmed_allocation_of_the_person(
    connector: FloatConnector, state: FloatState
) -> None:
    project = connector.upsert("project", make_project()).native_id
    ada = person(state)
    first = connector.upsert("assignment", assignment(), {"project": project, "person": ada})
    again = connector.upsert("assignment", assignment(), {"project": project, "person": ada})
    [task] = state.records("tasks")
    assert (first.created, again.created, again.native_id) == (True, False, str(task["task_id"]))
    assert (task["people_id"], task["hours"], task["status"]) == (int(ada), 6.5, 2)
    moved = assignment(hours_per_day=Decimal("4"), end_date=dt.date(2027, 2, 5))
    connector.upsert("assignment", moved, {"project": project, "person": ada})
    [task] = state.records("tasks")
    assert (task["hours"], task["end_date"]) == (4.0, "2027-02-05")
    assert connector.find("assignment", "assignment_1") == first.native_id


def test_an_unknown_person_is_rejected_naming_the_field(connector: FloatConnector) -> None:
    project = connector.upsert("project", make_project()).native_id
    with pytest.raises(RecordRejected) as caught:
        connector.upsert("assignment", assignment(), {"project": project, "person": "99999"})
    assert caught.value.status == 422
    assert caught.value.fields == ("people_id",)


# -- rate limits --------------------------------------------------------------------------------


def test_150_writes_are_paced_under_100_a_minute_without_a_single_429(
    connector: FloatConnector, state: FloatState, fake: FakeTime
) -> None:
    project = connector.upsert("project", make_project()).native_id
    ada = person(state)
    items = [
        (assignment(f"assignment_{i}"), {"project": project, "person": ada}) for i in range(150)
    ]
    results = connector.upsert_many("assignment", items)
    assert len({r.native_id for r in results}) == 150
    usage = state.usage()
    assert usage["writes_rejected"] == usage["reads_rejected"] == 0
    assert usage["writes_peak"] <= 100
    assert fake.seconds > 60  # spaced out over more than a minute, not sent in one burst
    assert max(fake.slept) < 1.0  # evenly: no long stall


def test_without_pacing_the_101st_write_is_rate_limited_with_retry_after(
    server: SandboxServer, state: FloatState, fake: FakeTime
) -> None:
    greedy = connect(server, fake, writes_per_minute=10_000, write_burst=10_000)
    try:
        project = greedy.upsert("project", make_project()).native_id
        ada = person(state)
        items = [(assignment(f"a_{i}"), {"project": project, "person": ada}) for i in range(120)]
        with pytest.raises(RateLimited) as caught:
            greedy.upsert_many("assignment", items)
    finally:
        greedy.close()
    assert caught.value.retry_after == 60
    assert len(state.records("tasks")) == 99  # the project create was the first write


def test_a_429_on_a_write_is_rate_limited_and_pauses_the_budget(
    connector: FloatConnector, faults: Faults, fake: FakeTime
) -> None:
    faults.fail_next(429)
    with pytest.raises(RateLimited) as caught:
        connector.send("POST", "clients", {"name": "Acme"})
    assert caught.value.retry_after == 1.0
    before = fake.seconds
    connector.send("POST", "clients", {"name": "Acme"})
    assert fake.seconds - before >= 1.0


def test_a_429_on_a_read_is_waited_out_and_retried(
    connector: FloatConnector, faults: Faults, fake: FakeTime
) -> None:
    faults.fail_next(429)
    assert connector.find("project", "project_acme1") is None
    assert fake.seconds >= 1.0


# -- error translation --------------------------------------------------------------------------


def test_a_5xx_on_a_write_is_unavailable_and_not_repeated(
    connector: FloatConnector, faults: Faults, state: FloatState
) -> None:
    faults.fail_next(503)
    with pytest.raises(ConnectorUnavailable):
        connector.send("POST", "clients", {"name": "Acme"})
    assert state.records("clients") == []


def test_a_read_failing_three_times_is_unavailable(
    connector: FloatConnector, faults: Faults
) -> None:
    faults.fail_next(503, 503, 503)
    with pytest.raises(ConnectorUnavailable):
        connector.find("project", "project_acme1")


def test_a_body_that_is_not_json_is_a_malformed_response(
    connector: FloatConnector, faults: Faults
) -> None:
    faults.set(FaultPlan(malformed_rate=1.0))
    with pytest.raises(MalformedResponse):
        connector.find("project", "project_acme1")


def test_a_missing_record_and_a_revoked_token_are_final(
    connector: FloatConnector, state: FloatState
) -> None:
    with pytest.raises(RecordNotFound):
        connector.get("assignment", "424242")
    state.revoke_token(DEMO_TOKEN)
    with pytest.raises(AuthenticationFailed):
        connector.authenticate()


def test_a_transient_read_failure_is_retried(connector: FloatConnector, faults: Faults) -> None:
    faults.fail_next(503, 502)
    assert connector.find("project", "project_acme1") is None


def test_secrets_stay_out_of_reprs(connector: FloatConnector) -> None:
    assert DEMO_TOKEN not in repr(connector.config)
    assert DEMO_TOKEN not in repr(connector._credentials)


# -- changes ------------------------------------------------------------------------------------


def test_assignment_changes_come_once_each_with_deletes_and_without_placeholders(
    connector: FloatConnector, state: FloatState, fake: FakeTime
) -> None:
    project = connector.upsert("project", make_project()).native_id
    connector.upsert("staffing_demand", demand(), {"project": project})
    ada = person(state)
    written = connector.upsert("assignment", assignment(), {"project": project, "person": ada})
    first = connector.read_changes("assignment", None)
    assert [c.native_id for c in first.changes] == [written.native_id]
    canonical = connector.to_canonical(first.changes[0])
    assert isinstance(canonical, Assignment)
    assert canonical.id == "assignment_1"
    assert canonical.consultant_id == canonical_id("consultant", "float", ada)
    assert canonical.project_id == canonical_id("project", "float", project)
    assert connector.read_changes("assignment", first.cursor).changes == []

    fake.sleep(30)
    state.update("tasks", written.native_id, {"hours": 3})
    edited = connector.read_changes("assignment", first.cursor)
    assert [c.native_id for c in edited.changes] == [written.native_id]
    assert edited.changes[0].version != first.changes[0].version
    assert edited.changes[0].payload["hours"] == 3.0

    state.delete("tasks", written.native_id)
    deleted = connector.read_changes("assignment", edited.cursor)
    assert [(c.native_id, c.deleted) for c in deleted.changes] == [(written.native_id, True)]
    assert connector.classify(deleted.changes[0]) == "deleted"
    assert connector.read_changes("assignment", deleted.cursor).changes == []


def test_changes_page_by_limit_oldest_first_without_repeats(
    connector: FloatConnector, state: FloatState, fake: FakeTime
) -> None:
    project = connector.upsert("project", make_project()).native_id
    ada = person(state)
    written = []
    for i in range(5):
        fake.sleep(1)
        item = assignment(f"assignment_{i}")
        written.append(connector.upsert("assignment", item, {"project": project, "person": ada}))
    cursor, seen, pages = None, [], 0
    while True:
        page = connector.read_changes("assignment", cursor, limit=2)
        seen += [c.native_id for c in page.changes]
        cursor, pages = page.cursor, pages + 1
        if not page.more:
            break
    assert seen == [r.native_id for r in written]
    assert pages == 3


def test_a_placeholder_allocation_handed_to_a_person_arrives_as_an_assignment(
    connector: FloatConnector, state: FloatState, fake: FakeTime
) -> None:
    project = connector.upsert("project", make_project()).native_id
    slot = connector.upsert("staffing_demand", demand(), {"project": project}).native_id
    start = connector.read_changes("assignment", None)
    assert start.changes == []
    fake.sleep(60)
    ada = person(state)
    state.update("tasks", slot, {"people_id": int(ada)})
    handed = connector.read_changes("assignment", start.cursor)
    [change] = handed.changes
    canonical = connector.to_canonical(change)
    assert isinstance(canonical, Assignment)
    assert canonical.demand_id == "demand_1"
    assert canonical.id == canonical_id("assignment", "float", slot)


def test_a_task_deleted_before_any_scan_saw_it_is_still_reported(
    server: SandboxServer, state: FloatState, fake: FakeTime
) -> None:
    lazy = connect(server, fake, deletion_scan_seconds=3600)
    try:
        project = lazy.upsert("project", make_project()).native_id
        first = lazy.read_changes("assignment", None)
        ada = person(state)
        made = lazy.upsert("assignment", assignment(), {"project": project, "person": ada})
        delivered = lazy.read_changes("assignment", first.cursor)
        assert [c.native_id for c in delivered.changes] == [made.native_id]
        state.delete("tasks", made.native_id)
        fake.sleep(3600)
        gone = lazy.read_changes("assignment", delivered.cursor)
    finally:
        lazy.close()
    assert [(c.native_id, c.deleted) for c in gone.changes] == [(made.native_id, True)]


def test_consultant_changes_leave_placeholders_out(
    connector: FloatConnector, state: FloatState
) -> None:
    ada = person(state, "Ada Costa", tags=["python", "sql"])
    state.create("people", {"name": "Placeholder: Architect", "people_type_id": 3})
    page = connector.read_changes("consultant", None)
    assert [c.native_id for c in page.changes] == [ada]
    consultant = connector.to_canonical(page.changes[0])
    assert consultant.model_dump()["email"] == "ada.costa@firm.example"
    assert consultant.model_dump()["skills"] == ("python", "sql")


def test_time_off_changes_are_read_but_have_no_canonical_contract(
    connector: FloatConnector, state: FloatState
) -> None:
    ada = person(state)
    made = state.create(
        "timeoffs",
        {
            "timeoff_type_id": 1,
            "people_ids": [int(ada)],
            "start_date": "2027-12-24",
            "end_date": "2027-12-31",
            "full_day": 1,
        },
    )
    page = connector.read_changes("time_off", None)
    assert [c.payload["timeoff_id"] for c in page.changes] == [made["timeoff_id"]]
    with pytest.raises(NotImplementedError, match="no canonical contract"):
        connector.to_canonical(page.changes[0])


def test_get_returns_the_current_record_as_a_change(
    connector: FloatConnector, state: FloatState
) -> None:
    ada = person(state)
    change = connector.get("consultant", ada)
    assert (change.kind, change.native_id, change.payload["email"]) == (
        "consultant",
        ada,
        "ada.costa@firm.example",
    )
