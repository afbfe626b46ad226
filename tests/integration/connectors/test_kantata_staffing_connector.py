"""Assignments written to and read from the Kantata emulator by the connector, over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from interlock.connectors.kantata import KantataConfig, KantataConnector
from interlock.exceptions import ConnectorUnavailable, ContractViolation
from interlock.model import Assignment, canonical_id
from interlock.sandbox.faults import Faults
from interlock.sandbox.kantata import DEMO_TOKEN, KantataState, create_app
from interlock.sandbox.server import SandboxServer


@pytest.fixture
def state() -> KantataState:
    kantata = KantataState()
    kantata.add_user("Integration", "api@example.com", None)
    kantata.add_user("Ana Lima", "ana@example.com", "Architect")
    return kantata


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def connector(state: KantataState, faults: Faults) -> Iterator[KantataConnector]:
    with SandboxServer(create_app(state, faults)) as server:
        config = KantataConfig(base_url=server.base_url, access_token=SecretStr(DEMO_TOKEN))
        kantata = KantataConnector("kantata", config)
        yield kantata
        kantata.close()


@pytest.fixture
def refs(state: KantataState) -> dict[str, str]:
    workspace = state.create("workspaces", {"title": "Acme", "creator_role": "maven"})
    story = state.create(
        "stories", {"title": "Build", "story_type": "task", "workspace_id": workspace["id"]}
    )
    return {"project": workspace["id"], "task": story["id"], "person": "2"}


def booking(**changes: Any) -> Assignment:
    fields: dict[str, Any] = {
        "id": "assignment_1",
        "project_id": "project_hub1",
        "consultant_id": "consultant_ana",
        "task_id": "task_hub1",
        "start_date": dt.date(2026, 1, 5),  # a Monday: two working weeks to the 16th
        "end_date": dt.date(2026, 1, 16),
        "hours_per_day": Decimal("6"),
    }
    return Assignment(**{**fields, **changes})


def test_upserting_an_assignment_twice_leaves_one_allocation_resource_and_assignment(
    connector: KantataConnector,
    state: KantataState,
    refs: dict[str, str],
) -> None:
    first = connector.upsert("assignment", booking(), refs)
    again = connector.upsert("assignment", booking(), refs)
    assert (first.created, again.created, first.native_id) == (True, False, again.native_id)
    [allocation] = state.records("workspace_allocations")
    [resource] = state.records("workspace_resources")
    [assignment] = state.records("assignments")
    assert (allocation["minutes"], allocation["hard"], allocation["start_date"]) == (
        3600,
        True,
        "2026-01-05",
    )
    assert (resource["workspace_id"], resource["user_id"]) == (refs["project"], "2")
    assert (assignment["story_id"], assignment["assignee_id"], assignment["allocated_minutes"]) == (
        refs["task"],
        "2",
        3600,
    )
    assert connector.find("assignment", "assignment_1") == allocation["id"]


def test_a_changed_assignment_updates_the_allocation_in_place(
    connector: KantataConnector,
    state: KantataState,
    refs: dict[str, str],
) -> None:
    connector.upsert("assignment", booking(), refs)
    connector.upsert(
        "assignment", booking(hours_per_day=Decimal("4.5"), end_date=dt.date(2026, 1, 9)), refs
    )
    [allocation] = state.records("workspace_allocations")
    [assignment] = state.records("assignments")
    assert (allocation["minutes"], allocation["end_date"]) == (1350, "2026-01-09")
    assert assignment["allocated_minutes"] == 1350


def test_a_crash_between_allocation_create_and_reference_does_not_duplicate(
    connector: KantataConnector,
    state: KantataState,
    faults: Faults,
    refs: dict[str, str],
) -> None:
    def lose_next_request(table: str, action: str, record: dict[str, Any]) -> None:
        if (table, action) == ("workspace_allocations", "created"):
            faults.fail_next(500)

    state.on_write(lose_next_request)
    with pytest.raises(ConnectorUnavailable):
        connector.upsert("assignment", booking(), refs)
    retried = connector.upsert("assignment", booking(), refs)
    [allocation] = state.records("workspace_allocations")
    assert (retried.native_id, retried.created) == (allocation["id"], True)
    assert len(state.records("assignments")) == 1


def test_missing_refs_are_a_programming_error_before_any_write(
    connector: KantataConnector,
    state: KantataState,
    refs: dict[str, str],
) -> None:
    with pytest.raises(ValueError, match="person"):
        connector.upsert("assignment", booking(), {"project": refs["project"]})
    with pytest.raises(ValueError, match="project"):
        connector.upsert("assignment", booking(), {"person": "2"})
    assert state.records("workspace_resources") == []


def test_an_assignment_reads_back_from_allocation_events_with_the_hub_ids(
    connector: KantataConnector,
    state: KantataState,
    refs: dict[str, str],
) -> None:
    connector.upsert("assignment", booking(), refs)
    page = connector.read_changes("assignment", None)
    [change] = page.changes
    assert connector.classify(change) == "changed"
    assert connector.to_canonical(change) == booking(
        project_id=canonical_id("project", "kantata", refs["project"]),
        consultant_id=canonical_id("consultant", "kantata", "2"),
    )


def test_an_allocation_of_an_unnamed_resource_is_refused_for_resourcing(
    connector: KantataConnector,
    state: KantataState,
    refs: dict[str, str],
) -> None:
    slot = state.create("workspace_resources", {"workspace_id": refs["project"]})
    state.create(
        "workspace_allocations",
        {
            "resource_id": slot["id"],
            "start_date": "2026-01-05",
            "end_date": "2026-01-05",
            "minutes": 480,
        },
    )
    [change] = connector.read_changes("assignment", None).changes
    with pytest.raises(ContractViolation) as caught:
        connector.to_canonical(change)
    assert [p.field for p in caught.value.problems] == ["consultant_id"]
    assert caught.value.team == "resourcing"
