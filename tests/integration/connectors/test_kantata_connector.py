"""The Kantata connector against the Kantata emulator over real HTTP."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from interlock.connectors.base import NativeChange
from interlock.connectors.kantata import KantataConfig, KantataConnector
from interlock.exceptions import (
    AuthenticationFailed,
    ConnectorUnavailable,
    ContractViolation,
    MalformedResponse,
    OutcomeUnknown,
    RateLimited,
    RecordRejected,
)
from interlock.model import BillingType, Milestone, NonNegativeMoney, Project, Task
from interlock.sandbox.faults import FaultPlan, Faults
from interlock.sandbox.kantata import DEMO_TOKEN, KantataState, create_app
from interlock.sandbox.server import SandboxServer


@pytest.fixture
def state() -> KantataState:
    return KantataState()


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def server(state: KantataState, faults: Faults) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(state, faults)) as running:
        yield running


def config_for(server: SandboxServer, **overrides: Any) -> KantataConfig:
    settings: dict[str, Any] = {
        "base_url": server.base_url,
        "access_token": SecretStr(DEMO_TOKEN),
        **overrides,
    }
    return KantataConfig(**settings)


@pytest.fixture
def connector(server: SandboxServer) -> Iterator[KantataConnector]:
    kantata = KantataConnector("kantata", config_for(server))
    yield kantata
    kantata.close()


def usd(amount: str) -> NonNegativeMoney:
    return NonNegativeMoney(amount=Decimal(amount), currency="USD")


def make_project(project_id: str = "project_acme1", **changes: Any) -> Project:
    tasks = tuple(
        Task(
            id=f"{project_id}_t{i}",
            project_id=project_id,
            name=f"{role} effort",
            role=role,
            budget_hours=Decimal(hours),
            rate=usd(rate),
            billing_type=BillingType.TIME_AND_MATERIALS,
        )
        for i, (role, hours, rate) in enumerate(
            [("Architect", "80", "260"), ("Consultant", "120.5", "150")]
        )
    )
    fields: dict[str, Any] = {
        "id": project_id,
        "name": "Northwind Bank - Data Platform",
        "customer_id": "cust_42",
        "start_date": dt.date(2026, 12, 7),
        "end_date": dt.date(2027, 4, 30),
        "billing_type": BillingType.TIME_AND_MATERIALS,
        "budget": usd("38875.00"),
        "tasks": tasks,
        "milestones": (
            Milestone(
                id=f"{project_id}_m1",
                project_id=project_id,
                name="Go-live",
                due_date=dt.date(2027, 4, 30),
                amount=usd("5000"),
            ),
        ),
    }
    return Project(**{**fields, **changes})


def refs_of(state: KantataState, subject_type: str) -> list[dict[str, Any]]:
    return [x for x in state.records("external_references") if x["subject_type"] == subject_type]


# -- upsert ------------------------------------------------------------------------------------


def test_upsert_creates_a_workspace_with_a_story_per_task_and_milestone(
    connector: KantataConnector,
    state: KantataState,
) -> None:
    result = connector.upsert("project", make_project())
    assert result.created
    [workspace] = state.records("workspaces")
    assert result.native_id == workspace["id"]
    assert (workspace["title"], workspace["start_date"], workspace["due_date"]) == (
        "Northwind Bank - Data Platform",
        "2026-12-07",
        "2027-04-30",
    )
    assert (workspace["price_in_cents"], workspace["currency"]) == (3887500, "USD")
    stories = {s["id"]: s for s in state.records("stories")}
    architect = stories[result.children["project_acme1_t0"]]
    assert (
        architect["story_type"],
        architect["time_estimate_in_minutes"],
        architect["budget_estimate_in_cents"],
    ) == ("task", 4800, 2080000)
    consultant = stories[result.children["project_acme1_t1"]]
    assert consultant["budget_estimate_in_cents"] == 1807500
    assert stories[result.children["project_acme1_m1"]]["story_type"] == "milestone"
    assert {(x["service_model"], x["service_model_ref"]) for x in refs_of(state, "Story")} == {
        ("task", "project_acme1_t0"),
        ("task", "project_acme1_t1"),
        ("milestone", "project_acme1_m1"),
    }


def test_upsert_twice_leaves_one_workspace_and_one_story_per_task(
    connector: KantataConnector,
    state: KantataState,
) -> None:
    first = connector.upsert("project", make_project())
    events_before = len(state.events())
    second = connector.upsert("project", make_project())
    assert not second.created
    assert (second.native_id, dict(second.children)) == (first.native_id, dict(first.children))
    assert len(state.records("workspaces")) == 1
    assert len(state.records("stories")) == 3
    assert len(state.events()) == events_before, "an unchanged project writes nothing"


def test_upsert_of_a_changed_project_updates_in_place(
    connector: KantataConnector,
    state: KantataState,
) -> None:
    project = make_project()
    connector.upsert("project", project)
    renamed_task = project.tasks[0].model_copy(update={"name": "Solution architecture"})
    extra = Task(
        id="project_acme1_t9",
        project_id=project.id,
        name="QA",
        billing_type=BillingType.TIME_AND_MATERIALS,
    )
    changed = project.model_copy(
        update={
            "name": "Northwind Bank - Data Platform II",
            "end_date": dt.date(2027, 6, 30),
            "tasks": (renamed_task, project.tasks[1], extra),
        }
    )
    result = connector.upsert("project", changed)
    [workspace] = state.records("workspaces")
    assert (workspace["title"], workspace["due_date"]) == (
        "Northwind Bank - Data Platform II",
        "2027-06-30",
    )
    titles = {s["id"]: s["title"] for s in state.records("stories")}
    assert titles[result.children["project_acme1_t0"]] == "Solution architecture"
    assert titles[result.children["project_acme1_t9"]] == "QA"
    assert len(titles) == 4


def test_a_crash_between_workspace_create_and_reference_does_not_duplicate(
    connector: KantataConnector,
    state: KantataState,
    faults: Faults,
) -> None:
    def lose_next_request(table: str, action: str, record: dict[str, Any]) -> None:
        if (table, action) == ("workspaces", "created"):
            faults.fail_next(500)  # the reference registration that follows is lost

    state.on_write(lose_next_request)
    with pytest.raises(ConnectorUnavailable):
        connector.upsert("project", make_project())
    assert len(state.records("workspaces")) == 1
    assert refs_of(state, "Workspace") == []
    retried = connector.upsert("project", make_project())
    [workspace] = state.records("workspaces")
    assert retried.native_id == workspace["id"]
    assert retried.created, "the workspace was made for this upsert and never reported"
    assert {x["service_model"] for x in refs_of(state, "Workspace")} == {"project", "customer"}
    assert connector.find("project", "project_acme1") == workspace["id"]


def test_a_crash_between_story_create_and_reference_does_not_duplicate(
    connector: KantataConnector,
    state: KantataState,
    faults: Faults,
) -> None:
    lost: list[str] = []

    def lose_first_story_reference(table: str, action: str, record: dict[str, Any]) -> None:
        if table == "stories" and action == "created" and not lost:
            lost.append(record["id"])
            faults.fail_next(503)

    state.on_write(lose_first_story_reference)
    with pytest.raises(ConnectorUnavailable):
        connector.upsert("project", make_project())
    result = connector.upsert("project", make_project())
    assert len(state.records("stories")) == 3
    assert sorted(result.children.values()) == sorted(s["id"] for s in state.records("stories"))
    assert len(refs_of(state, "Story")) == 3


def test_a_create_that_timed_out_is_found_before_it_is_sent_again(
    server: SandboxServer,
    state: KantataState,
) -> None:
    def slow_create(table: str, action: str, record: dict[str, Any]) -> None:
        if (table, action) == ("workspaces", "created") and len(state.events()) == 1:
            time.sleep(0.6)  # the answer arrives after the client gave up

    state.on_write(slow_create)
    impatient = KantataConnector("kantata", config_for(server, timeout_seconds=0.3))
    try:
        with pytest.raises(OutcomeUnknown):
            impatient.upsert("project", make_project())
        time.sleep(0.5)
        impatient.upsert("project", make_project())
    finally:
        impatient.close()
    assert len(state.records("workspaces")) == 1
    assert len(state.records("stories")) == 3


def test_base_url_may_name_the_api_path_itself(server: SandboxServer) -> None:
    kantata = KantataConnector("kantata", config_for(server, base_url=server.base_url + "/api/v1/"))
    try:
        kantata.authenticate()
        assert kantata.find("project", "project_acme1") is None
    finally:
        kantata.close()


def test_find_answers_none_for_a_project_never_written(
    connector: KantataConnector,
) -> None:
    assert connector.find("project", "project_unknown") is None


def test_an_archived_workspace_is_still_found_and_not_duplicated(
    connector: KantataConnector,
    state: KantataState,
) -> None:
    first = connector.upsert("project", make_project())
    state.update("workspaces", first.native_id, {"archived": True})
    again = connector.upsert("project", make_project())
    assert again.native_id == first.native_id
    assert len(state.records("workspaces")) == 1


def test_projects_mixing_currencies_are_refused_before_any_write(
    connector: KantataConnector,
    state: KantataState,
) -> None:
    project = make_project()
    euro_task = project.tasks[0].model_copy(
        update={"rate": NonNegativeMoney(amount=Decimal(200), currency="EUR")}
    )
    with pytest.raises(ContractViolation) as caught:
        connector.upsert("project", project.model_copy(update={"tasks": (euro_task,)}))
    assert [p.field for p in caught.value.problems] == ["tasks.0.rate.currency"]
    assert state.records("workspaces") == []


# -- changes -----------------------------------------------------------------------------------


def read_all(connector: KantataConnector, limit: int) -> tuple[list[NativeChange], str | None]:
    changes: list[NativeChange] = []
    cursor: str | None = None
    for _ in range(200):
        page = connector.read_changes("project", cursor, limit=limit)
        changes += page.changes
        cursor = page.cursor
        if not page.more:
            return changes, cursor
    raise AssertionError("read_changes never finished")


def test_read_changes_returns_workspace_changes_once_and_resumes_from_the_cursor(
    connector: KantataConnector,
    state: KantataState,
) -> None:
    result = connector.upsert("project", make_project())
    changes, cursor = read_all(connector, limit=50)
    assert [(c.native_id, c.deleted) for c in changes] == [(result.native_id, False)]
    assert connector.read_changes("project", cursor).changes == []
    state.update("workspaces", result.native_id, {"status_key": 300})
    state.delete("workspaces", result.native_id)
    later = connector.read_changes("project", cursor)
    assert [(c.payload["event"]["event_type"], c.deleted) for c in later.changes] == [
        ("workspace:updated", False),
        ("workspace:deleted", True),
    ]


class Clock:
    """A sandbox clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.mark.parametrize(("per_page", "step_seconds"), [(200, 0), (5, 45)])
def test_duplicated_and_out_of_order_events_give_each_change_once_in_order(
    server: SandboxServer,
    state: KantataState,
    per_page: int,
    step_seconds: int,
) -> None:
    clock = Clock()
    state.clock = clock
    state.chaos_events = True
    ids = [
        state.create("workspaces", {"title": f"W{n}", "creator_role": "maven"})["id"]
        for n in range(4)
    ]
    for version in range(1, 16):
        clock.now += dt.timedelta(seconds=step_seconds)
        for workspace_id in ids:
            state.update("workspaces", workspace_id, {"title": f"v{version}"})
    expected = [e for e in state.events() if e["subject_type"] == "Workspace"]
    kantata = KantataConnector("kantata", config_for(server, per_page=per_page))
    changes, _ = read_all(kantata, limit=7)
    kantata.close()
    versions = [(c.native_id, c.version) for c in changes]
    assert len(versions) == len(set(versions)) == len(expected)
    per_subject: dict[str, list[str]] = defaultdict(list)
    for change in changes:
        per_subject[change.native_id].append(change.payload["workspace"]["title"])
    for titles in per_subject.values():
        assert titles == [titles[0]] + [f"v{n}" for n in range(1, 16)]
        assert titles[0].startswith("W")


def test_to_canonical_gives_back_the_project_interlock_wrote(
    connector: KantataConnector,
    state: KantataState,
) -> None:
    project = make_project()
    result = connector.upsert("project", project)
    state.update("workspaces", result.native_id, {"status_key": 350})
    changes, _ = read_all(connector, limit=200)
    read_back = connector.to_canonical(changes[-1])
    assert isinstance(read_back, Project)
    assert (read_back.id, read_back.customer_id, read_back.status, read_back.budget) == (
        project.id,
        project.customer_id,
        "on_hold",
        project.budget,
    )
    assert (read_back.start_date, read_back.end_date) == (project.start_date, project.end_date)


def test_a_workspace_made_by_hand_is_refused_for_lack_of_a_customer(
    connector: KantataConnector,
    state: KantataState,
) -> None:
    state.create(
        "workspaces",
        {
            "title": "Internal",
            "creator_role": "maven",
            "start_date": "2026-12-01",
            "due_date": "2026-12-31",
        },
    )
    [change], _ = read_all(connector, limit=10)
    with pytest.raises(ContractViolation) as caught:
        connector.to_canonical(change)
    assert [p.field for p in caught.value.problems] == ["customer_id"]
    assert caught.value.team == "pmo"


# -- errors --------------------------------------------------------------------------------------


def test_throttling_raises_rate_limited_with_a_retry_delay(
    server: SandboxServer,
    state: KantataState,
) -> None:
    kantata = KantataConnector("kantata", config_for(server, rate_limit_retry_seconds=7))
    state.rate_limit = 1
    kantata.find("project", "project_x")
    with pytest.raises(RateLimited) as caught:
        kantata.find("project", "project_x")
    kantata.close()
    assert caught.value.retry_after == 7
    assert caught.value.retryable


def test_a_retry_after_header_wins_over_the_configured_delay(
    connector: KantataConnector,
    faults: Faults,
) -> None:
    faults.fail_next(429, 429, 429)  # reads are retried twice inline
    with pytest.raises(RateLimited) as caught:
        connector.find("project", "project_x")
    assert caught.value.retry_after == 1


def test_server_errors_are_unavailable_and_garbage_is_malformed(
    connector: KantataConnector,
    faults: Faults,
) -> None:
    faults.fail_next(502, 502, 502)  # reads are retried twice inline
    with pytest.raises(ConnectorUnavailable) as unavailable:
        connector.find("project", "project_x")
    assert unavailable.value.status == 502
    faults.set(FaultPlan(malformed_rate=1.0))
    with pytest.raises(MalformedResponse):
        connector.find("project", "project_x")


def test_a_refused_token_is_final_and_never_echoed(server: SandboxServer) -> None:
    kantata = KantataConnector(
        "kantata", config_for(server, access_token=SecretStr("stale-token-123"))
    )
    with pytest.raises(AuthenticationFailed) as caught:
        kantata.authenticate()
    kantata.close()
    assert not caught.value.retryable
    assert "stale-token-123" not in str(caught.value)
    assert "stale-token-123" not in repr(
        config_for(server, access_token=SecretStr("stale-token-123"))
    )


def test_a_record_kantata_refuses_is_rejected_naming_the_field(
    connector: KantataConnector,
) -> None:
    nameless = make_project().model_copy(update={"name": ""})  # slipped past the contract
    with pytest.raises(RecordRejected) as caught:
        connector.upsert("project", nameless)
    assert caught.value.fields == ("title",)
    assert caught.value.status == 422
