"""Changes made by people in Tryton are read back by polling; our own writes are told apart."""

from __future__ import annotations

from decimal import Decimal

import pytest

from interlock.connectors.base import NativeChange
from interlock.connectors.tryton import TrytonConnector
from interlock.exceptions import ConfigError, RecordNotFound
from interlock.model import Project, ProjectStatus, Task

from .support import Deal, Mobilise, TrytonEnv


def _theirs(
    connector: TrytonConnector, changes: list[NativeChange]
) -> dict[tuple[str, str], NativeChange]:
    return {(c.kind, c.native_id): c for c in changes if not connector.is_own_change(c)}


def test_a_person_renaming_a_task_and_closing_the_project_is_read_back(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise
) -> None:
    ids = mobilise(deal)
    connector = tryton.connector
    caught_up = connector.read_changes("project", None)
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
        "task_arch",
        "proj_globex_data",
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
        "proj_globex_data",
        "cust_globex",
        ProjectStatus.CLOSED,
    )
    assert {t.id: t.name for t in project.tasks} == {
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
    cursor = connector.read_changes("project", None).cursor
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
    cursor = tryton.connector.read_changes("project", None).cursor
    tryton.person.delete("project.allocation", tryton.person.search("project.allocation", []))
    tryton.person.delete("project.work", [ids.tasks["task_build"]])

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
