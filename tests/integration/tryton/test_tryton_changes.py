"""Changes made by people in Tryton are read back by polling; our own writes are told apart.

The tests share one Tryton per backend: each writes a deal of its own and reads changes from
a cursor that has caught up with what was there before.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from decimal import Decimal

import pytest

from interlock.connectors.base import NativeChange
from interlock.connectors.tryton import TrytonConnector
from interlock.connectors.tryton.template import Template
from interlock.exceptions import ConfigError, RecordNotFound
from interlock.model import ApprovalState, Project, ProjectStatus, Task, TimeEntry

from .conftest import make_deal, running_tryton
from .support import Deal, Mobilise, TrytonEnv


@pytest.fixture(scope="module")
def tryton(
    tryton_templates: dict[str, Future[Template]],
    tryton_backend: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TrytonEnv]:
    """One Tryton for the module."""
    folder = tmp_path_factory.mktemp("tryton")
    with running_tryton(tryton_templates, tryton_backend, folder) as env:
        yield env


@pytest.fixture
def deal() -> Deal:
    """A deal of this test's own."""
    return make_deal(f"_{uuid.uuid4().hex[:8]}")


def _caught_up(connector: TrytonConnector, kind: str = "project") -> str | None:
    """A cursor past every change made so far."""
    cursor, more = None, True
    while more:
        page = connector.read_changes(kind, cursor)
        cursor, more = page.cursor, page.more
    return cursor


def _theirs(
    connector: TrytonConnector, changes: list[NativeChange]
) -> dict[tuple[str, str], NativeChange]:
    return {(c.kind, c.native_id): c for c in changes if not connector.is_own_change(c)}


def test_a_person_renaming_a_task_and_closing_the_project_is_read_back(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise
) -> None:
    connector = tryton.connector
    start = _caught_up(connector)
    ids = mobilise(deal)
    caught_up = connector.read_changes("project", start)
    assert len(caught_up.changes) == 3  # the project and its two tasks, all written by us
    assert _theirs(connector, caught_up.changes) == {}

    done = tryton.person.model_data_id("project", "work_done_status")
    tryton.person.write("project.work", [ids.tasks["task_arch"]], {"name": "Architecture & design"})
    finished = {"status": done, "progress": 1.0}  # Tryton closes a project after its tasks
    tryton.person.write("project.work", list(ids.tasks.values()), finished)
    tryton.person.write("project.work", [ids.project], finished)
    page = connector.read_changes("project", caught_up.cursor)

    found = _theirs(connector, page.changes)
    assert set(found) == {
        *(("task", str(i)) for i in ids.tasks.values()),
        ("project", str(ids.project)),
    }
    task = connector.to_canonical(found["task", str(ids.tasks["task_arch"])])
    assert isinstance(task, Task)
    assert (task.id, task.project_id, task.name) == (
        f"task_arch{deal.suffix}",
        deal.project.id,
        "Architecture & design",
    )
    assert task.rate is not None
    assert (task.rate.amount, task.budget_hours, task.role) == (
        Decimal(150),
        Decimal(40),
        "Architect",
    )
    project = connector.to_canonical(found["project", str(ids.project)])
    assert isinstance(project, Project)
    assert (project.id, project.customer_id, project.status) == (
        deal.project.id,
        deal.customer.id,
        ProjectStatus.CLOSED,
    )
    assert {deal.base(t.id): t.name for t in project.tasks} == {
        "task_arch": "Architecture & design",
        "task_build": "Build",
    }
    assert connector.read_changes("project", page.cursor).changes == []  # delivered once
    now = connector.get("project", str(ids.project))
    assert now.version == found["project", str(ids.project)].version


def test_our_own_writes_are_recognised_as_echoes(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise
) -> None:
    mobilise(deal)
    connector = tryton.connector
    cursor = _caught_up(connector)
    connector.upsert("project", deal.project.model_copy(update={"name": "Renamed by us"}))

    (ours,) = connector.read_changes("project", cursor).changes
    assert ours.payload["name"] == "Renamed by us"
    assert connector.is_own_change(ours)

    tryton.person.write("project.work", [int(ours.native_id)], {"name": "Renamed by a person"})
    (theirs,) = connector.read_changes("project", cursor).changes
    assert not connector.is_own_change(theirs)

    config = tryton.config.model_copy(update={"skip_own_writes": True})
    skipping = TrytonConnector("tryton", config)
    try:
        connector.upsert("project", deal.project)
        assert skipping.read_changes("project", cursor).changes == []
    finally:
        skipping.close()


def test_a_task_deleted_in_tryton_is_read_as_deleted(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise
) -> None:
    ids = mobilise(deal)
    cursor = _caught_up(tryton.connector)
    build = ids.tasks["task_build"]
    allocations = tryton.person.search("project.allocation", [("work", "=", build)])
    tryton.person.delete("project.allocation", allocations)
    tryton.person.delete("project.work", [build])

    page = tryton.connector.read_changes("project", cursor)

    gone = [c for c in page.changes if c.deleted]
    assert [(c.kind, c.native_id) for c in gone] == [("task", str(ids.tasks["task_build"]))]
    assert tryton.connector.classify(gone[0]) == "deleted"
    with pytest.raises(RecordNotFound):
        tryton.connector.get("task", str(ids.tasks["task_build"]))
    assert [
        c for c in tryton.connector.read_changes("project", page.cursor).changes if c.deleted
    ] == []


def test_paging_delivers_every_change_once(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise
) -> None:
    mobilise(deal)
    seen: list[str] = []
    cursor, more = None, True
    while more:
        page = tryton.connector.read_changes("project", cursor, limit=1)
        seen += [c.native_id for c in page.changes if not c.deleted]
        cursor, more = page.cursor, page.more
    assert sorted(seen) == sorted({str(i) for i in tryton.person.search("project.work", [])})


def test_a_cursor_that_is_not_ours_is_a_config_error(tryton: TrytonEnv) -> None:
    with pytest.raises(ConfigError, match="not a Tryton change cursor"):
        tryton.connector.read_changes("project", "2024-07-01T12:00:00Z|4711")


def test_time_typed_into_tryton_reads_as_approved_entries_with_our_ids(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise
) -> None:
    ids = mobilise(deal)
    connector = tryton.connector
    cursor = _caught_up(connector, "time_entry")
    (work,) = tryton.person.read("project.work", [ids.tasks["task_arch"]], ["timesheet_works"])
    values = {
        "company": connector.company.id,
        "employee": ids.employees["cons_ada"],
        "work": work["timesheet_works"][0],
        "date": dt.date(2026, 3, 2),
        "duration": dt.timedelta(hours=6, minutes=30),
        "description": "Workshop",
    }
    (line,) = tryton.person.create("timesheet.line", [values])

    (change,) = connector.read_changes("time_entry", cursor).changes

    assert (change.kind, change.native_id) == ("time_entry", str(line))
    assert not connector.is_own_change(change)
    assert connector.classify(change) == "approved"
    entry = connector.to_canonical(change)
    assert isinstance(entry, TimeEntry)
    assert (entry.project_id, entry.task_id, entry.consultant_id) == (
        deal.project.id,
        f"task_arch{deal.suffix}",
        f"cons_ada{deal.suffix}",
    )
    assert (entry.date, entry.hours, entry.state, entry.description) == (
        dt.date(2026, 3, 2),
        Decimal("6.5"),
        ApprovalState.APPROVED,
        "Workshop",
    )
    assert entry.id.startswith("time_entry_")  # a person's line: an id derived from Tryton's
