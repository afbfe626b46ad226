"""Exceptions, holds, replay, stale events, check-before-create and echo dropping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from interlock.connectors.base import NativeChange
from interlock.engine import Engine, RetryPolicy, Source, actions
from interlock.engine.replay import ReplayFilter, replay
from interlock.exceptions import ContractViolation, OutcomeUnknown, RecordRejected
from interlock.flows import Mobilize, PostTime
from interlock.model import Customer, Opportunity, TimeEntry, canonical_id
from interlock.store import Store, audit, counters, exception_queue, holds, journal, runs, xref
from interlock.testing import InMemoryConnector

from .test_mobilize_engine import _project_id, deal


def _map(change: NativeChange) -> BaseModel:
    if change.kind == "customer":
        return Customer.model_validate(change.payload)
    if change.kind == "time_entry":
        return TimeEntry.model_validate(change.payload)
    return Opportunity.model_validate(change.payload["Opportunity"])


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
def systems() -> dict[str, InMemoryConnector]:
    return {
        "crm": InMemoryConnector("crm", _map),
        "psa": InMemoryConnector("psa", _map),
        "erp": InMemoryConnector("erp", _map),
    }


def hub(store: Store, systems: dict[str, InMemoryConnector]) -> Engine:
    return Engine(
        store,
        systems,
        {"crm": "crm", "psa": "psa", "erp": "erp"},
        [Mobilize(), PostTime()],
        [Source("crm", "opportunity"), Source("psa", "time_entry"), Source("psa", "project")],
        policy=RetryPolicy(max_attempts=2, base_seconds=0.01, max_seconds=0.02),
    )


def time_entry(n: int, project_id: str, consultant: str = "consultant_1") -> dict[str, Any]:
    return {
        "id": f"te{n}",
        "project_id": project_id,
        "consultant_id": consultant,
        "date": f"2027-01-{n:02d}",
        "hours": "7.5",
        "state": "approved",
    }


def _exceptions(store: Store) -> list[dict[str, Any]]:
    with store.transaction() as conn:
        return exception_queue.listing(conn)


def test_partial_failure_holds_time_until_the_set_up_succeeds(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    engine = hub(store, systems)
    project = _project_id("opp1")
    with store.transaction() as conn:
        xref.link(conn, "consultant", "consultant_1", "erp", "emp-1")
    original = systems["erp"].upsert

    def billing_fails(kind: str, record: BaseModel, refs: Any = None) -> Any:
        if kind == "project":
            raise RecordRejected("erp", "HTTP 400: billing schedule is invalid", code="USER_ERROR")
        return original(kind, record, refs)

    systems["erp"].upsert = billing_fails  # type: ignore[method-assign]
    systems["crm"].emit("opportunity", "opp1", 1, deal(1), verb="won")
    engine.run_until_idle(timeout=20)
    [failed] = _exceptions(store)
    assert failed["team"] == "integration"
    assert failed["category"] == "rejected_by_target"
    assert "billing schedule is invalid" in failed["reason"]
    assert failed["payload"]["Opportunity"]["name"] == "Deal 1"
    assert "psa" in failed["systems"]
    with store.transaction() as conn:
        [hold] = holds.listing(conn)
    assert hold["key"] == project
    assert hold["flows"] == ["post_time", "staffing"]
    assert list(systems["psa"].records["project"]) == [project]  # the PSA part stays

    for n in (1, 2, 3):
        systems["psa"].emit("time_entry", f"te{n}", 1, time_entry(n, project), verb="approved")
    engine.run_until_idle(timeout=20)
    with store.transaction() as conn:
        assert journal.counts(conn).get("parked") == 3
        assert holds.listing(conn)[0]["parked"] == 3
    assert "time_entry" not in systems["erp"].records

    systems["erp"].upsert = original  # type: ignore[method-assign]  # the ERP is fixed
    actions.retry(store, failed["id"], "ana@finance")
    engine.run_until_idle(timeout=20)
    posted = [w for w in systems["erp"].writes if w[0] == "time_entry"]
    assert posted == [
        ("time_entry", "te1", True),
        ("time_entry", "te2", True),
        ("time_entry", "te3", True),
    ]
    [closed] = _exceptions(store)
    assert closed["status"] == "resolved"
    with store.transaction() as conn:
        assert holds.listing(conn) == []
        trail = [e["action"] for e in audit.entries(conn, subject=f"exception:{failed['id']}")]
    assert trail[-1] == "exception.retry"
    assert "exception.resolved" in trail


def test_edit_and_retry_validates_the_edit_and_reruns(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    engine = hub(store, systems)
    bad = deal(2, lines=0)
    systems["crm"].emit("opportunity", "opp2", 1, bad, verb="won")
    engine.run_until_idle(timeout=20)
    [rejected] = _exceptions(store)
    assert (rejected["team"], rejected["category"]) == ("sales_ops", "validation")
    flows = {f.name: f for f in (Mobilize(), PostTime())}
    with pytest.raises(ContractViolation, match=r"terms\.lines"):
        actions.edit_and_retry(store, rejected["id"], "sam@sales", bad, flows, systems)
    assert _exceptions(store)[0]["status"] == "open"  # a refused edit changes nothing
    fixed = deal(2, lines=1)
    actions.edit_and_retry(store, rejected["id"], "sam@sales", fixed, flows, systems)
    engine.run_until_idle(timeout=20)
    assert _exceptions(store)[0]["status"] == "resolved"
    assert list(systems["erp"].records["project"]) == [_project_id("opp2")]
    with store.transaction() as conn:
        [edit] = [
            e
            for e in audit.entries(conn, subject=f"exception:{rejected['id']}")
            if e["action"] == "exception.edit_and_retry"
        ]
    assert edit["actor"] == "sam@sales"
    assert edit["details"]["before"]["Opportunity"]["terms"]["lines"] == []
    assert len(edit["details"]["after"]["Opportunity"]["terms"]["lines"]) == 1


def test_skip_and_explicit_release_resume_parked_work(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    engine = hub(store, systems)
    with store.transaction() as conn:
        hold_id = holds.place(conn, "project_x", ["post_time"], "finance review", None)
    systems["psa"].emit("time_entry", "te9", 1, time_entry(9, "project_x"), verb="approved")
    engine.run_until_idle(timeout=20)
    with store.transaction() as conn:
        assert journal.counts(conn).get("parked") == 1
    with pytest.raises(actions.ActionRefused):
        actions.release_hold(store, hold_id + 100, "ops")
    assert actions.release_hold(store, hold_id, "ops")["resumed_events"] == 1
    with pytest.raises(actions.ActionRefused, match="already released"):
        actions.release_hold(store, hold_id, "ops")
    engine.work_once()
    with store.transaction() as conn:
        assert journal.counts(conn).get("parked") is None
        [run] = runs.listing(conn, flow="post_time")
    assert run["status"] in ("running", "failed")  # resumed: now waits for its project


def test_stale_changes_are_not_applied(store: Store, systems: dict[str, InMemoryConnector]) -> None:
    engine = hub(store, systems)
    newer = deal(3)
    older = deal(3)
    systems["crm"].emit("opportunity", "opp3", 2, newer, verb="won")
    change = systems["crm"]._changes[-1]
    systems["crm"]._changes[-1] = NativeChange(
        change.kind,
        change.native_id,
        change.version,
        dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        change.payload,
    )
    systems["crm"].emit("opportunity", "opp3", 1, older, verb="changed")
    engine.run_until_idle(timeout=20)
    with store.transaction() as conn:
        assert journal.counts(conn).get("stale") == 1
        assert counters.read(conn)["stale_events"] == 1


def test_replay_is_idempotent_and_dry_run_says_so(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    engine = hub(store, systems)
    for n in (4, 5):
        systems["crm"].emit("opportunity", f"opp{n}", 1, deal(n), verb="won")
    engine.run_until_idle(timeout=20)
    writes = len(systems["erp"].writes)
    flows = list(engine.flows.values())
    where = ReplayFilter(type="interlock.opportunity.won.v1")
    plan = replay(store, where, flows, systems, engine.roles, actor="ops", dry_run=True)
    assert len(plan) == 2
    assert all("nothing to do" in item.plan for item in plan)
    replay(store, where, flows, systems, engine.roles, actor="ops")
    engine.run_until_idle(timeout=20)
    assert len(systems["erp"].writes) == writes
    with store.transaction() as conn:
        outcomes = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT outcome FROM journal WHERE type = 'interlock.opportunity.won.v1'"
            )
        ]
    assert all("duplicate" in o for o in outcomes)


def test_a_write_with_an_unknown_outcome_is_looked_up_before_it_is_sent_again(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    engine = hub(store, systems)
    with store.transaction() as conn:
        xref.link(conn, "project", "project_t", "erp", "job-1")
        xref.link(conn, "consultant", "consultant_1", "erp", "emp-1")
    original = systems["erp"].upsert
    calls = {"n": 0}

    def lost_answer(kind: str, record: BaseModel, refs: Any = None) -> Any:
        calls["n"] += 1
        original(kind, record, refs)  # the write happens ...
        raise OutcomeUnknown("erp", "POST timed out")  # ... but the answer is lost

    systems["erp"].upsert = lost_answer  # type: ignore[method-assign]
    systems["psa"].emit("time_entry", "te7", 1, time_entry(7, "project_t"), verb="approved")
    engine.run_until_idle(timeout=20)
    assert calls["n"] == 1
    assert [w for w in systems["erp"].writes if w[0] == "time_entry"] == [
        ("time_entry", "te7", True)
    ]
    with store.transaction() as conn:
        [run] = runs.listing(conn, flow="post_time")
    assert run["status"] == "succeeded"


def test_echoes_of_our_own_writes_are_dropped_and_counted(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    engine = hub(store, systems)
    systems["crm"].emit("opportunity", "opp6", 1, deal(6), verb="won")
    engine.run_until_idle(timeout=20)
    [(native, written)] = systems["psa"].records["project"].values()
    systems["psa"].emit("project", native, 1, written)  # the PSA reports our own write back
    changed = dict(written, name="Renamed by a PM")
    systems["psa"].emit("project", native, 2, changed)  # a person's change is not an echo
    engine.run_until_idle(timeout=20)
    with store.transaction() as conn:
        assert counters.read(conn)["echoes_dropped"] == 1
        types = [r[0] for r in conn.exec_driver_sql("SELECT type FROM journal")]
    assert types.count("interlock.project.changed.v1") == 1
    assert canonical_id("project", "psa", native)  # subjects are canonical ids
