"""Won deals in the Salesforce sandbox mobilised into the Kantata and NetSuite sandboxes by an
in-process engine, over real HTTP, with faults injected."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from interlock.engine import RetryPolicy
from interlock.runtime import Hub, build_hub
from interlock.sandbox.faults import FaultPlan
from interlock.sandbox.firm import Firm, generate_firm
from interlock.settings import Settings
from interlock.store import journal, records, runs, xref
from interlock.topology import parse_topology

from .lifecycle import good_deals, running_sandboxes


@pytest.fixture
def firm() -> Firm:
    return generate_firm(5, deals=12, bad_share=0.25)


@pytest.fixture
def env(firm: Firm, tmp_path: Path) -> Iterator[dict[str, Any]]:
    with running_sandboxes(firm, tmp_path) as running:
        yield running


@pytest.fixture
def hub(env: dict[str, Any], db_url: str) -> Iterator[Hub]:
    built = build_hub(
        Settings(database_url=db_url),
        parse_topology(env["topology"]),
        environ=env["environ"],
        # One step makes a request per task at 30% failures: give it room to get through.
        policy=RetryPolicy(max_attempts=30, base_seconds=0.01, max_seconds=0.05),
    )
    built.store.upgrade()
    yield built
    built.close()


def _win_all_and_settle(hub: Hub, env: dict[str, Any], firm: Firm, timeout: float = 60) -> None:
    for deal in firm.deals:
        env["salesforce"].win(env["opportunities"][deal.key])
    deadline = time.monotonic() + timeout
    while True:
        hub.engine.work_once()
        with hub.store.transaction() as conn:
            counts = runs.counts(conn)
        if counts.get(runs.RunStatus.RUNNING, 0) == 0 and sum(counts.values()) == len(firm.deals):
            return
        assert time.monotonic() < deadline, counts
        time.sleep(0.01)


def test_won_deals_arrive_in_psa_and_erp_with_their_contracted_rates(
    hub: Hub, env: dict[str, Any], firm: Firm
) -> None:
    _win_all_and_settle(hub, env, firm)
    good = good_deals(firm)
    workspaces = env["kantata"].records("workspaces")
    stories = env["kantata"].records("stories")
    assert len(workspaces) == len(good)
    deal = next(d for d in firm.deals if d.key == good[0])
    [workspace] = [w for w in workspaces if w["title"] == deal.name][:1]
    budgets = sorted(
        int(s["budget_estimate_in_cents"])
        for s in stories
        if str(s["workspace_id"]) == str(workspace["id"])
    )
    assert budgets == sorted(int(line.hours * line.rate * 100) for line in deal.lines)
    jobs = env["netsuite"].records("job")
    customers = {c["id"]: c for c in env["netsuite"].records("customer")}
    assert len(jobs) == len(good)
    for job in jobs:
        parent = job["parent"]["id"] if isinstance(job["parent"], dict) else job["parent"]
        assert str(parent) in {str(k) for k in customers}
    with hub.store.transaction() as conn:
        demand = records.of_kind(conn, "staffing_demand")
        project_id = records.of_kind(conn, "project")[0]["id"]
        systems = xref.all_for(conn, project_id)
    assert sum(Decimal(d["hours"]) for d in demand) == sum(
        line.hours for d in firm.deals if d.key in good for line in d.lines
    )
    assert set(systems) == {"kantata", "netsuite", "float"}


def test_replaying_every_change_creates_nothing_new(
    hub: Hub, env: dict[str, Any], firm: Firm
) -> None:
    _win_all_and_settle(hub, env, firm)
    before = (len(env["kantata"].records("workspaces")), len(env["netsuite"].records("job")))
    with hub.store.transaction() as conn:
        journal.set_cursor(conn, "salesforce", "opportunity", None)  # read everything again
    assert hub.engine.ingest() == 0  # every change was journaled already
    hub.engine.run_until_idle(timeout=20)
    after = (len(env["kantata"].records("workspaces")), len(env["netsuite"].records("job")))
    assert after == before


def test_transient_vendor_failures_are_retried_to_exactly_one_of_everything(
    hub: Hub, env: dict[str, Any], firm: Firm
) -> None:
    for name in ("kantata", "netsuite"):
        env[f"{name}_faults"].set(FaultPlan(error_rates={500: 0.15, 502: 0.1, 429: 0.05}, seed=3))
    _win_all_and_settle(hub, env, firm, timeout=120)
    with hub.store.transaction() as conn:
        counts = runs.counts(conn)
    with hub.store.transaction() as conn:
        failures = [r["error"] for r in runs.listing(conn, status="failed")]
    assert counts.get("failed", 0) == 0, failures
    assert env["netsuite_faults"].injected > 0
    assert len(env["kantata"].records("workspaces")) == len(good_deals(firm))
    assert len(env["netsuite"].records("job")) == len(good_deals(firm))


def test_a_malformed_vendor_answer_fails_one_run_clearly_and_the_worker_goes_on(
    hub: Hub, env: dict[str, Any], firm: Firm
) -> None:
    env["netsuite_faults"].set(FaultPlan(malformed_rate=1.0))
    first = good_deals(firm)[0]
    env["salesforce"].win(env["opportunities"][first])
    hub.engine.run_until_idle(timeout=20)
    env["netsuite_faults"].clear()
    with hub.store.transaction() as conn:
        [failed] = runs.listing(conn, status="failed")
    assert failed["error"]["type"] == "MalformedResponse"
    assert "not JSON" in failed["error"]["reason"]
    assert failed["error"]["team"] == "integration"
    _win_all_and_settle(hub, env, firm)
    assert len(env["netsuite"].records("job")) == len(good_deals(firm)) - 1
