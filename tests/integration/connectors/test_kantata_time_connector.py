"""Time entry and expense changes read by the Kantata connector from the emulator, over HTTP."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from interlock.connectors.base import NativeChange
from interlock.connectors.kantata import KantataConfig, KantataConnector
from interlock.model import (
    BillingType,
    Expense,
    Project,
    Task,
    TimeEntry,
    canonical_id,
)
from interlock.sandbox.kantata import DEMO_TOKEN, KantataState, create_app
from interlock.sandbox.server import SandboxServer


class Clock:
    """A sandbox clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> KantataState:
    kantata = KantataState(clock=clock)
    for name in ("Integration", "Ana Lima", "Bo Chen"):
        kantata.add_user(name, f"{name.split()[0].lower()}@example.com", None)
    return kantata


@pytest.fixture
def server(state: KantataState) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(state)) as running:
        yield running


def connect(server: SandboxServer, **overrides: Any) -> KantataConnector:
    config = KantataConfig(
        base_url=server.base_url, access_token=SecretStr(DEMO_TOKEN), **overrides
    )
    return KantataConnector("kantata", config)


@pytest.fixture
def connector(server: SandboxServer) -> Iterator[KantataConnector]:
    kantata = connect(server)
    yield kantata
    kantata.close()


@pytest.fixture
def workspace(state: KantataState) -> tuple[str, str]:
    """A workspace made in Kantata by hand, with one story: (workspace id, story id)."""
    made = state.create("workspaces", {"title": "Acme", "creator_role": "maven"})
    story = state.create(
        "stories", {"title": "Build", "story_type": "task", "workspace_id": made["id"]}
    )
    return str(made["id"]), str(story["id"])


def read_all(
    connector: KantataConnector, kind: str, cursor: str | None = None, limit: int = 200
) -> tuple[list[NativeChange], str | None]:
    changes: list[NativeChange] = []
    for _ in range(500):
        page = connector.read_changes(kind, cursor, limit=limit)
        changes += page.changes
        cursor = page.cursor
        if not page.more:
            return changes, cursor
    raise AssertionError("read_changes never finished")


def state_of(connector: KantataConnector, change: NativeChange) -> str:
    """The approval state of a time entry or expense change, mapped."""
    mapped = connector.to_canonical(change)
    assert isinstance(mapped, TimeEntry | Expense)
    return str(mapped.state)


@pytest.mark.parametrize("limit", [200, 3])
def test_approved_time_arrives_exactly_once_despite_duplicated_and_reordered_events(
    server: SandboxServer,
    state: KantataState,
    clock: Clock,
    workspace: tuple[str, str],
    limit: int,
) -> None:
    state.chaos_events = True
    workspace_id, story_id = workspace
    entries = []
    for n in range(24):
        clock.tick(20)
        entry = state.log_time(workspace_id, story_id, "23"[n % 2], f"2026-11-{n + 1:02d}", 30 + n)
        entries.append(entry["id"])
        if n % 3 == 0:
            state.update("time_entries", entry["id"], {"notes": f"edited {n}"})
    approved = set(entries[::2])
    for entry_id in entries:
        clock.tick(7)
        if entry_id in approved:
            state.approve_time(entry_id)
    kantata = connect(server)
    changes, _ = read_all(kantata, "time_entry", limit=limit)
    kantata.close()
    verbs = Counter((c.native_id, kantata.classify(c)) for c in changes)
    assert {i for (i, verb) in verbs if verb == "approved"} == approved
    assert all(count == 1 for (_, verb), count in verbs.items() if verb == "approved")
    assert len({(c.native_id, c.version) for c in changes}) == len(changes)
    for change in changes:
        assert (state_of(kantata, change) == "approved") == (change.native_id in approved)


def test_a_draft_then_approved_entry_ends_with_one_approved_change_in_its_final_state(
    connector: KantataConnector,
    state: KantataState,
    workspace: tuple[str, str],
) -> None:
    workspace_id, story_id = workspace
    entry = state.log_time(workspace_id, story_id, "2", "2026-11-23", 90)
    [draft], cursor = read_all(connector, "time_entry")
    assert (connector.classify(draft), state_of(connector, draft)) == ("changed", "draft")
    state.submit_time([entry["id"]])
    [submitted], cursor = read_all(connector, "time_entry", cursor)
    assert state_of(connector, submitted) == "submitted"
    state.approve_time(entry["id"])
    [final], cursor = read_all(connector, "time_entry", cursor)
    assert connector.classify(final) == "approved"
    assert final.payload["record"]["approved"] is True
    assert read_all(connector, "time_entry", cursor)[0] == []

    other = state.log_time(workspace_id, None, "3", "2026-11-24", 15)
    state.approve_time(other["id"])
    [both], _ = read_all(connector, "time_entry", cursor)
    assert (both.native_id, connector.classify(both)) == (other["id"], "approved")
    assert [e["event_type"] for e in both.payload["events"]] == [
        "time_entry:created",
        "time_entry:updated",
    ]


def test_a_rejected_entry_reads_as_rejected_and_is_not_approved(
    connector: KantataConnector,
    state: KantataState,
    workspace: tuple[str, str],
) -> None:
    entry = state.log_time(workspace[0], None, "2", "2026-11-23", 60)
    state.submit_time([entry["id"]])
    state.reject_time(entry["id"])
    [change], _ = read_all(connector, "time_entry")
    assert connector.classify(change) == "changed"
    assert state_of(connector, change) == "rejected"


def test_a_deleted_time_entry_is_a_deleted_change_with_its_last_state(
    connector: KantataConnector,
    state: KantataState,
    workspace: tuple[str, str],
) -> None:
    entry = state.log_time(workspace[0], None, "2", "2026-11-23", 60, notes="typo")
    _, cursor = read_all(connector, "time_entry")
    state.delete("time_entries", entry["id"])
    [change], _ = read_all(connector, "time_entry", cursor)
    assert (change.native_id, change.deleted, connector.classify(change)) == (
        entry["id"],
        True,
        "deleted",
    )
    assert change.payload["record"]["notes"] == "typo"


def test_an_entry_deleted_before_it_was_read_comes_only_as_deleted(
    connector: KantataConnector,
    state: KantataState,
    workspace: tuple[str, str],
) -> None:
    entry = state.log_time(workspace[0], None, "2", "2026-11-23", 60)
    state.delete("time_entries", entry["id"])
    changes, _ = read_all(connector, "time_entry")
    assert [(c.native_id, connector.classify(c)) for c in changes] == [(entry["id"], "deleted")]


def test_time_on_a_project_interlock_created_lands_on_the_hub_ids(
    connector: KantataConnector,
    state: KantataState,
    workspace: tuple[str, str],
) -> None:
    project = Project(
        id="project_hub1",
        name="Northwind - Rollout",
        customer_id="cust_1",
        start_date=dt.date(2026, 11, 2),
        end_date=dt.date(2027, 1, 29),
        billing_type=BillingType.TIME_AND_MATERIALS,
        tasks=(
            Task(
                id="task_hub1",
                project_id="project_hub1",
                name="Build",
                billing_type=BillingType.TIME_AND_MATERIALS,
            ),
        ),
    )
    written = connector.upsert("project", project)
    ours = state.log_time(written.native_id, written.children["task_hub1"], "2", "2026-11-23", 45)
    theirs = state.log_time(workspace[0], workspace[1], "3", "2026-11-23", 480)
    changes, _ = read_all(connector, "time_entry")
    mapped = {c.native_id: connector.to_canonical(c) for c in changes}
    assert mapped[ours["id"]] == TimeEntry(
        id=canonical_id("time_entry", "kantata", ours["id"]),
        project_id="project_hub1",
        task_id="task_hub1",
        consultant_id=canonical_id("consultant", "kantata", "2"),
        date=dt.date(2026, 11, 23),
        hours=Decimal("0.75"),
        state="draft",
    )
    other = mapped[theirs["id"]]
    assert isinstance(other, TimeEntry)
    assert (other.project_id, other.task_id, other.hours) == (
        canonical_id("project", "kantata", workspace[0]),
        canonical_id("task", "kantata", workspace[1]),
        Decimal(8),
    )


def test_expenses_have_their_own_cursor_and_read_approved_once(
    connector: KantataConnector,
    state: KantataState,
    workspace: tuple[str, str],
) -> None:
    state.log_time(workspace[0], None, "2", "2026-11-23", 60)
    _, time_cursor = read_all(connector, "time_entry")
    expense = state.log_expense(workspace[0], "2", "2026-11-24", "Travel", 12345, currency="EUR")
    pending = state.log_expense(workspace[0], "3", "2026-11-24", "Meals", 800)
    state.approve_expense(expense["id"])
    state.submit_expenses([pending["id"]])
    assert read_all(connector, "time_entry", time_cursor)[0] == []
    changes, _ = read_all(connector, "expense")
    by_id = {c.native_id: c for c in changes}
    assert [connector.classify(by_id[i]) for i in (expense["id"], pending["id"])] == [
        "approved",
        "changed",
    ]
    approved = connector.to_canonical(by_id[expense["id"]])
    assert isinstance(approved, Expense)
    assert (approved.amount.amount, approved.amount.currency, approved.category) == (
        Decimal("123.45"),
        "EUR",
        "Travel",
    )
    assert state_of(connector, by_id[pending["id"]]) == "submitted"
