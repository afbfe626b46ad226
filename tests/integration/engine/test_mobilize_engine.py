"""The engine and the mobilize flow over in-memory systems, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from interlock.connectors.base import NativeChange
from interlock.engine import Engine, RetryPolicy, Source
from interlock.exceptions import ConnectorUnavailable, RecordRejected
from interlock.flows import Mobilize
from interlock.model import Customer, Opportunity, canonical_id
from interlock.store import Store, runs
from interlock.store.schema import flow_steps
from interlock.testing import InMemoryConnector


def _map(change: NativeChange) -> BaseModel:
    if change.kind == "customer":
        return Customer.model_validate(change.payload)
    return Opportunity.model_validate(change.payload["Opportunity"])


def deal(n: int, *, lines: int = 2, **terms: Any) -> dict[str, Any]:
    line = {
        "role": "Consultant",
        "hours": "80",
        "billing_type": "time_and_materials",
        "rate": {"amount": "150", "currency": "USD"},
    }
    body = {
        "start_date": "2027-01-04",
        "end_date": "2027-03-26",
        "currency": "USD",
        "billing_type": "time_and_materials",
        "lines": [dict(line, id=f"line{n}_{i}") for i in range(lines)],
    }
    body.update(terms)
    return {
        "Opportunity": {
            "id": canonical_id("opportunity", "crm", f"opp{n}"),
            "name": f"Deal {n}",
            "customer_id": f"cust{n}",
            "stage": "closed_won",
            "modified_at": "2026-11-26T10:00:00Z",
            "won_at": dt.datetime.now(dt.UTC).isoformat(),
            "terms": body,
        },
        "related": {"customer": {"id": f"cust{n}", "name": f"Customer {n}"}},
    }


class Crash(BaseException):
    """Stands in for the process dying in the middle of a step."""


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
        "psa": InMemoryConnector("psa"),
        "erp": InMemoryConnector("erp"),
    }


def engine(store: Store, systems: dict[str, InMemoryConnector], **kwargs: Any) -> Engine:
    roles = {"crm": "crm", "psa": "psa", "erp": "erp"}
    kwargs.setdefault("policy", RetryPolicy(max_attempts=3, base_seconds=0.01, max_seconds=0.05))
    return Engine(store, systems, roles, [Mobilize()], [Source("crm", "opportunity")], **kwargs)


def run_status(store: Store, key: str) -> dict[str, Any]:
    with store.transaction() as conn:
        found = runs.find(conn, "mobilize", key)
    assert found is not None
    return found


def test_a_won_deal_is_mobilised_once_in_psa_and_erp(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    systems["crm"].emit("opportunity", "opp1", 1, deal(1), verb="won")
    engine(store, systems).run_until_idle(timeout=20)
    run = run_status(store, "opportunity_" + _subject("opp1"))
    assert run["status"] == "succeeded"
    assert run["metrics"]["cycle_seconds"] >= 0
    assert set(systems["erp"].records) == {"customer", "project"}
    [(_native, project)] = systems["psa"].records["project"].values()
    assert [t["rate"]["amount"] for t in project["tasks"]] == ["150", "150"]
    with store.transaction() as conn:
        names = [
            r.name
            for r in conn.execute(
                flow_steps.select()
                .where(flow_steps.c.run_id == run["id"])
                .order_by(flow_steps.c.seq)
            )
        ]
    assert names == [
        "validate",
        "erp_customer",
        "psa_project",
        "erp_project",
        "staffing_demand",
        "scheduler_demand",
        "ready",
    ]


def _subject(native: str) -> str:
    return canonical_id("opportunity", "crm", native).removeprefix("opportunity_")


def test_bad_metadata_is_rejected_by_name_and_nothing_is_created(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    systems["crm"].emit(
        "opportunity", "opp2", 1, deal(2, lines=0, end_date="2026-12-01"), verb="won"
    )
    engine(store, systems).run_until_idle(timeout=20)
    run = run_status(store, "opportunity_" + _subject("opp2"))
    assert run["status"] == "rejected"
    assert run["error"]["team"] == "sales_ops"
    assert {(p["field"], p["rule"]) for p in run["error"]["problems"]} == {
        ("terms.end_date", "must not be before terms.start_date"),
        ("terms.lines", "at least one SOW line is required"),
    }
    assert systems["psa"].writes == []
    assert systems["erp"].writes == []


def test_a_second_won_event_for_the_same_deal_is_refused(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    systems["crm"].emit("opportunity", "opp3", 1, deal(3), verb="won")
    hub = engine(store, systems)
    hub.run_until_idle(timeout=20)
    systems["crm"].emit("opportunity", "opp3", 2, deal(3), verb="won")
    hub.run_until_idle(timeout=20)
    assert [w for w in systems["psa"].writes if w[0] == "project"] == [
        ("project", _project_id("opp3"), True)
    ]
    with store.transaction() as conn:
        outcomes = [r[0] for r in conn.exec_driver_sql("SELECT outcome FROM journal ORDER BY id")]
    assert "duplicate" in outcomes[-1]


def _project_id(native: str) -> str:
    return canonical_id("project", "interlock", canonical_id("opportunity", "crm", native))


def test_retryable_failures_are_retried_without_repeating_done_steps(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    systems["erp"].fail_next = [ConnectorUnavailable("erp", "HTTP 503")]
    systems["crm"].emit("opportunity", "opp4", 1, deal(4), verb="won")
    hub = engine(store, systems)
    hub.work_once()
    deadline = time.monotonic() + 20
    while run_status(store, "opportunity_" + _subject("opp4"))["status"] == "running":
        assert time.monotonic() < deadline
        hub.work_once()
    run = run_status(store, "opportunity_" + _subject("opp4"))
    assert run["status"] == "succeeded"
    with store.transaction() as conn:
        attempts = {
            r.name: r.attempts
            for r in conn.execute(flow_steps.select().where(flow_steps.c.run_id == run["id"]))
        }
    assert attempts["erp_customer"] == 2
    assert attempts["psa_project"] == 1
    assert len(systems["erp"].writes) == 2  # customer (after one failure) + project


def test_final_vendor_errors_fail_the_run_with_a_reason(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    systems["erp"].fail_next = [
        RecordRejected("erp", "HTTP 400: subsidiary is required", code="USER_ERROR")
    ]
    systems["crm"].emit("opportunity", "opp5", 1, deal(5), verb="won")
    engine(store, systems).run_until_idle(timeout=20)
    run = run_status(store, "opportunity_" + _subject("opp5"))
    assert run["status"] == "failed"
    assert run["error"]["step"] == "erp_customer"
    assert run["error"]["code"] == "USER_ERROR"
    assert "subsidiary is required" in run["error"]["reason"]


def test_a_restarted_worker_resumes_where_the_dead_one_stopped(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    systems["crm"].emit("opportunity", "opp6", 1, deal(6), verb="won")
    systems["erp"].fail_next = []
    first = engine(store, systems, lease=dt.timedelta(seconds=0.2), worker="first")
    original = systems["erp"].upsert
    calls = {"n": 0}

    def dying_upsert(kind: str, record: BaseModel, refs: Any = None) -> Any:
        calls["n"] += 1
        if kind == "project":
            raise Crash
        return original(kind, record, refs)

    systems["erp"].upsert = dying_upsert  # type: ignore[method-assign]
    with pytest.raises(Crash):
        first.run_until_idle(timeout=20)
    systems["erp"].upsert = original  # type: ignore[method-assign]
    time.sleep(0.3)  # the dead worker's lease runs out
    engine(store, systems, worker="second").run_until_idle(timeout=20)
    assert run_status(store, "opportunity_" + _subject("opp6"))["status"] == "succeeded"
    psa_projects = [w for w in systems["psa"].writes if w[0] == "project"]
    assert psa_projects == [("project", _project_id("opp6"), True)]
    assert [w[0] for w in systems["erp"].writes] == ["customer", "project"]


def test_staffing_demand_is_published_to_the_scheduler_when_there_is_one(
    store: Store, systems: dict[str, InMemoryConnector]
) -> None:
    systems["scheduler"] = InMemoryConnector("scheduler")
    roles = {"crm": "crm", "psa": "psa", "erp": "erp", "scheduler": "scheduler"}
    hub = Engine(store, systems, roles, [Mobilize()], [Source("crm", "opportunity")])
    systems["crm"].emit("opportunity", "opp7", 1, deal(7, lines=3), verb="won")
    hub.run_until_idle(timeout=20)
    published = systems["scheduler"].records["staffing_demand"]
    assert len(published) == 3
    assert {d["hours"] for _, d in published.values()} == {"80"}
    assert list(systems["scheduler"].records["project"]) == [_project_id("opp7")]
