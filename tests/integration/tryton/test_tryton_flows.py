"""The lifecycle through the engine with Tryton as ERP and PSA and Salesforce as CRM.

Deals are won in the Salesforce sandbox; ``mobilize`` sets them up and staffs them in Tryton;
approved time arrives as canonical events (a time-capture tool) and ``post_time`` books it;
a closed billing period makes ``invoice_project`` invoice and post; a person's edits in
Tryton come back by polling. One Tryton and one hub per backend serve the whole module (the
hub's store on the same backend as Tryton); the scenario runs once and each test checks one
part of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from interlock.connectors.tryton import TrytonConnector
from interlock.connectors.tryton.template import Template
from interlock.engine import RetryPolicy
from interlock.engine.replay import ReplayFilter, replay
from interlock.model import Assignment, Invoice, Project, ProjectStatus, TimeEntry
from interlock.runtime import Hub, build_hub
from interlock.sandbox.firm import Firm, generate_firm
from interlock.sandbox.salesforce import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from interlock.settings import Settings
from interlock.store import counters, journal, records, runs, xref
from interlock.store.schema import journal as journal_table
from interlock.topology import parse_topology
from interlock.tryton_demo import (
    TrytonDemoServer,
    approved_time,
    flow_counts,
    invoice_requests,
    journal_events,
    load_roster,
    roster,
    salesforce_sandbox,
    time_events,
    topology,
    work_until,
)

from ...conftest import fresh_pg_database
from .conftest import ADMIN_PASSWORD, USER_PASSWORD, running_tryton
from .support import TrytonEnv

COUNTED = (
    "party.party",
    "party.identifier",
    "company.employee",
    "company.employee_cost_price",
    "project.work",
    "project.allocation",
    "timesheet.line",
    "account.invoice",
    "account.invoice.line",
)
TIMEOUT = 120.0


@dataclass
class World:
    """The scenario after deals, time and invoices went through the engine."""

    hub: Hub
    tryton: TrytonEnv
    firm: Firm
    projects: dict[str, Project]
    assignments: list[Assignment]
    entries: list[TimeEntry]
    period_end: dt.date
    batches: list[int] = field(default_factory=list)

    def native(self, kind: str, canonical: str) -> int:
        with self.hub.store.transaction() as conn:
            found = xref.native_id(conn, kind, canonical, "tryton")
        assert found is not None, (kind, canonical)
        return int(found)


@pytest.fixture(scope="module")
def hub_url(tryton_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The hub's store, on the backend Tryton runs on."""
    if tryton_backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('hub') / 'interlock.sqlite'}"
    else:
        with fresh_pg_database() as url:
            yield url


def _spy_batches(connector: TrytonConnector, calls: list[int]) -> None:
    batch = connector.upsert_many

    def counted(kind: str, items: Any) -> Any:
        calls.append(len(items))
        return batch(kind, items)

    connector.upsert_many = counted  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def world(
    tryton_templates: dict[str, Future[Template]],
    tryton_backend: str,
    hub_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    today = dt.datetime.now(dt.UTC).date()
    firm = generate_firm(6, deals=3, consultants=24, bad_share=0, today=today - dt.timedelta(60))
    folder = tmp_path_factory.mktemp("tryton")
    with (
        running_tryton(tryton_templates, tryton_backend, folder) as env,
        salesforce_sandbox(firm) as (salesforce, opportunities, salesforce_url),
    ):
        server = TrytonDemoServer(
            env.server.base_url, env.database.name, ADMIN_PASSWORD, USER_PASSWORD
        )
        hub = build_hub(
            Settings(database_url=hub_url),
            parse_topology(topology(server, salesforce_url)),
            environ={
                "SF_CLIENT_ID": DEMO_CLIENT_ID,
                "SF_CLIENT_SECRET": DEMO_CLIENT_SECRET,
                "TRYTON_PASSWORD": USER_PASSWORD.get_secret_value(),
            },
            policy=RetryPolicy(max_attempts=5, base_seconds=0.01, max_seconds=0.05),
        )
        connector = hub.systems["tryton"]
        assert isinstance(connector, TrytonConnector)
        batches: list[int] = []
        _spy_batches(connector, batches)
        try:
            load_roster(hub.store, roster(firm))
            hub.engine.run_until_idle(timeout=TIMEOUT)
            for deal in firm.deals:
                salesforce.win(opportunities[deal.key])
            work_until(hub, "mobilize", len(firm.deals), timeout=TIMEOUT)
            with hub.store.transaction() as conn:
                projects = {
                    p["id"]: Project.model_validate(p) for p in records.of_kind(conn, "project")
                }
                staffed = [
                    Assignment.model_validate(a) for a in records.of_kind(conn, "assignment")
                ]
            entries = approved_time(staffed, projects, days=2)
            journal_events(hub.store, time_events(entries), "TIME")
            work_until(hub, "post_time", len(entries), timeout=TIMEOUT)
            period_end = max(e.date for e in entries)
            journal_events(hub.store, invoice_requests(sorted(projects), period_end), "BILLING")
            work_until(hub, "invoice_project", len(projects), timeout=TIMEOUT)
            yield World(hub, env, firm, projects, staffed, entries, period_end, batches)
        finally:
            hub.close()


def test_won_deals_become_customers_projects_tasks_at_contracted_rates_and_allocations(
    world: World,
) -> None:
    assert flow_counts(world.hub.store, "mobilize") == {"succeeded": len(world.firm.deals)}
    person = world.tryton.person
    assert len(world.projects) == len(world.firm.deals)
    for deal in world.firm.deals:
        [project] = [p for p in world.projects.values() if p.name == deal.name]
        native = world.native("project", project.id)
        (row,) = person.read("project.work", [native], ["name", "party.name", "type"])
        assert (row["type"], row["name"]) == ("project", deal.name)
        assert deal.customer_id is not None
        assert row["party."]["name"] == world.firm.customer(deal.customer_id).name
        tasks = person.search_read(
            "project.work",
            [("parent", "=", native), ("type", "=", "task")],
            ["list_price", "effort_duration", "timesheet_works"],
        )
        # One task per SOW line, priced at the line's contracted rate.
        assert sorted(t["list_price"] for t in tasks) == sorted(line.rate for line in deal.lines)
        assert sorted(t["effort_duration"] for t in tasks) == sorted(
            dt.timedelta(hours=float(line.hours)) for line in deal.lines
        )
        assert all(t["timesheet_works"] for t in tasks)
    # Each SOW line is staffed with a consultant of its role, allocated on its task.
    roles = {c.id: c.role for c in world.firm.consultants}
    assert len(world.assignments) == sum(len(d.lines) for d in world.firm.deals)
    for assignment in world.assignments:
        task = next(
            t for t in world.projects[assignment.project_id].tasks if t.id == assignment.task_id
        )
        assert roles[assignment.consultant_id] == task.role
        employee = world.native("consultant", assignment.consultant_id)
        [allocation] = person.search_read(
            "project.allocation",
            [("work", "=", world.native("task", str(assignment.task_id)))],
            ["employee", "percentage"],
        )
        assert allocation["employee"] == employee
        share = (assignment.hours_per_day * 100 / 8).quantize(Decimal("0.01"))  # of an 8 h day
        assert allocation["percentage"] == float(share)
    costs = {c.id: c.cost_rate for c in world.firm.consultants}
    for assignment in world.assignments:
        (row,) = person.read(
            "company.employee",
            [world.native("consultant", assignment.consultant_id)],
            ["cost_price"],
        )
        assert row["cost_price"] == costs[assignment.consultant_id]


def test_approved_time_is_booked_in_batches_and_each_period_invoice_bills_hours_at_the_rate(
    world: World,
) -> None:
    assert flow_counts(world.hub.store, "post_time") == {"succeeded": len(world.entries)}
    assert sum(world.batches) == len(world.entries)
    assert len(world.batches) < len(world.entries)  # the engine used the batch step
    person = world.tryton.person
    lines = person.search_read("timesheet.line", [], ["duration", "description", "employee"])
    assert len(lines) == len(world.entries)
    by_entry = {e.id: e for e in world.entries}
    for line in lines:
        [entry_id] = [
            cid for cid in by_entry if f"[interlock:time_entry:{cid}]" in line["description"]
        ]
        entry = by_entry[entry_id]
        assert line["duration"] == dt.timedelta(hours=float(entry.hours))
        assert line["employee"] == world.native("consultant", entry.consultant_id)

    with world.hub.store.transaction() as conn:
        invoices = {
            i["project_id"]: Invoice.model_validate(i) for i in records.of_kind(conn, "invoice")
        }
    rates = {t.id: t.rate.amount for p in world.projects.values() for t in p.tasks if t.rate}
    billed_by_time = [p for p in world.projects.values() if p.billing_type == "time_and_materials"]
    assert billed_by_time, "the firm's seed gives time-and-materials deals"
    for project in billed_by_time:
        entries = [e for e in world.entries if e.project_id == project.id]
        expected = sum((e.hours * rates[str(e.task_id)] for e in entries), Decimal(0))
        invoice = invoices[project.id]
        native = person.read(
            "account.invoice",
            [world.native("invoice", invoice.id)],
            ["state", "total_amount", "number", "party"],
        )[0]
        assert native["state"] == "posted"
        assert native["total_amount"] == invoice.total.amount == expected
        assert native["party"] == world.native("customer", project.customer_id)
        hours = {
            line.task_id: line.quantity for line in invoice.lines
        }  # one line per task: its hours
        assert hours == {
            t.id: sum((e.hours for e in entries if e.task_id == t.id), Decimal(0))
            for t in project.tasks
            if any(e.task_id == t.id for e in entries)
        }
    for project in world.projects.values():
        if project not in billed_by_time:
            assert project.id not in invoices  # fixed fee and milestones bill no time
    assert flow_counts(world.hub.store, "invoice_project") == {"succeeded": len(world.projects)}


def _snapshot(env: TrytonEnv) -> dict[str, Any]:
    return {model: (env.count(model), env.stamps(model)) for model in COUNTED}


def test_replaying_every_event_creates_or_changes_nothing_in_tryton(world: World) -> None:
    hub = world.hub
    before = _snapshot(world.tryton)
    with hub.store.transaction() as conn:
        runs_before = runs.counts(conn)

    replayed = replay(
        hub.store, ReplayFilter(), hub.flows, hub.systems, hub.roles, actor="test:replay"
    )
    hub.engine.run_until_idle(timeout=TIMEOUT)
    # The tools publishing the same events again are deduplicated on the way in.
    again = journal_events(hub.store, time_events(world.entries), "TIME")
    requests = invoice_requests(sorted(world.projects), world.period_end)
    journal_events(hub.store, requests, "BILLING")
    hub.engine.run_until_idle(timeout=TIMEOUT)

    assert len(replayed) >= len(world.firm.deals) + len(world.entries) + len(world.projects)
    assert again.journaled == 0
    assert again.duplicates == len(world.entries)
    assert _snapshot(world.tryton) == before
    with hub.store.transaction() as conn:
        assert runs.counts(conn) == runs_before
        assert journal.counts(conn).get("pending", 0) == 0


def test_a_persons_edit_in_tryton_reaches_the_canonical_store_and_our_writes_do_not(
    world: World,
) -> None:
    hub = world.hub
    hub.engine.run_until_idle(timeout=TIMEOUT)
    assert flow_counts(hub.store, "project_changes") == {}  # everything so far was ours
    with hub.store.transaction() as conn:
        assert counters.read(conn).get("echoes_dropped", 0) > 0
    project = world.projects[sorted(world.projects)[-1]]
    first, *others = project.tasks
    person = world.tryton.person
    done = person.model_data_id("project", "work_done_status")
    tasks = [world.native("task", t.id) for t in project.tasks]
    person.write("project.work", tasks[:1], {"name": "Discovery (renamed)"})
    person.write("project.work", tasks[1:2], {"list_price": Decimal("1.00")})  # not the PSA's
    person.write("project.work", tasks, {"status": done, "progress": 1.0})
    person.write(
        "project.work", [world.native("project", project.id)], {"status": done, "progress": 1.0}
    )

    hub.engine.run_until_idle(timeout=TIMEOUT)

    with hub.store.transaction() as conn:
        stored = Project.model_validate(records.get(conn, "project", project.id))
        violations = counters.read(conn).get("ownership_violations", 0)
    assert stored.status is ProjectStatus.CLOSED
    assert [t.name for t in stored.tasks] == ["Discovery (renamed)", *(t.name for t in others)]
    assert [t.rate for t in stored.tasks] == [t.rate for t in project.tasks]  # contract's rate
    assert violations >= 1
    assert flow_counts(hub.store, "project_changes").get("succeeded", 0) >= 1
    assert set(flow_counts(hub.store, "project_changes")) == {"succeeded"}
    assert first.id == stored.tasks[0].id


def test_time_a_person_types_into_tryton_is_read_but_not_posted_again(world: World) -> None:
    hub, person = world.hub, world.tryton.person
    assignment = world.assignments[0]
    (work,) = person.read(
        "project.work", [world.native("task", str(assignment.task_id))], ["timesheet_works"]
    )
    line = {
        "company": person.context["company"],
        "employee": world.native("consultant", assignment.consultant_id),
        "work": work["timesheet_works"][0],
        "date": world.period_end,
        "duration": dt.timedelta(hours=2),
        "description": "Typed in Tryton",
    }
    posted_before = flow_counts(hub.store, "post_time")
    (native,) = person.create("timesheet.line", [line])

    hub.engine.run_until_idle(timeout=TIMEOUT)

    with hub.store.transaction() as conn:
        outcomes = [
            row.outcome
            for row in conn.execute(
                sa.select(journal_table.c.outcome).where(
                    journal_table.c.source == "/systems/tryton",
                    journal_table.c.type == "interlock.time_entry.approved.v1",
                )
            )
        ]
    assert outcomes == ["post_time: ignored (time recorded in the ERP itself is billed there)"]
    assert flow_counts(hub.store, "post_time") == posted_before
    assert person.search("timesheet.line", [("description", "like", "Typed in Tryton%")]) == [
        native
    ]
