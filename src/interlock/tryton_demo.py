"""``interlock demo --erp tryton``: the whole lifecycle against a real Tryton (ERP and PSA).

Needs the ``tryton`` extra. A set-up Tryton database is built once into a cache folder
(about half a minute) and copied for every run (a file copy); a ``trytond`` serves the copy
on 127.0.0.1. The Salesforce sandbox plays the CRM. Then, through the engine:

1. the firm's roster (consultants with roles and cost rates) is loaded as canonical master
   data, and deals are won in Salesforce: ``mobilize`` creates each customer, the project
   with one task per SOW line at the contracted rate, and staffs every line with a
   consultant of its role (Tryton allocations);
2. the firm's time-capture tool publishes approved time as canonical
   ``time_entry.approved`` events (Tryton's timesheets have no approval step, so approval
   happens there): ``post_time`` books them as timesheet lines, in batches;
3. finance closes the billing period (``invoice.requested`` per project):
   ``invoice_project`` has Tryton invoice and post each project;
4. a person renames a task and closes a project in Tryton: polling brings the change to the
   canonical store, while our own writes are recognised and dropped as echoes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import SecretStr

from interlock.demo import Rejection
from interlock.engine import RetryPolicy
from interlock.events import CloudEvent, event_type
from interlock.fabric.intake import Delivery, Tally, journal_deliveries
from interlock.model import (
    ApprovalState,
    Assignment,
    BillingType,
    Consultant,
    NonNegativeMoney,
    Project,
    TimeEntry,
    canonical_id,
)
from interlock.runtime import Hub, build_hub
from interlock.sandbox.firm import Firm, generate_firm
from interlock.settings import Settings
from interlock.store import Store, counters, records, runs, xref
from interlock.store.schema import journal as journal_table
from interlock.topology import parse_topology

TIME_SOURCE = "/systems/time-capture"
"""CloudEvents source of the approved time the demo's time-capture tool publishes."""
BILLING_SOURCE = "/systems/billing-calendar"
"""CloudEvents source of the billing calendar's invoice requests."""
Progress = Callable[[str, int, int], None]
"""Progress callback: (phase, done, total)."""


# -- what the firm's other tools send ---------------------------------------------------------


def roster(firm: Firm) -> list[Consultant]:
    """The firm's consultants as canonical master data (role, cost rate, capacity)."""
    return [
        Consultant(
            id=c.id,
            name=c.name,
            email=c.email,
            role=c.role,
            skills=c.skills,
            region=c.region,
            practice_id=c.practice_id,
            cost_rate=NonNegativeMoney(amount=c.cost_rate, currency=c.currency),
        )
        for c in firm.consultants
    ]


def load_roster(store: Store, consultants: Sequence[Consultant]) -> None:
    """Put the roster in the canonical store, where ``mobilize`` staffs from."""
    with store.transaction("loading the roster") as conn:
        for consultant in consultants:
            records.put(conn, "consultant", consultant)


def approved_time(
    assignments: Sequence[Assignment], projects: dict[str, Project], days: int
) -> list[TimeEntry]:
    """Approved time for the first ``days`` working days of each assignment, in its hours."""
    entries = []
    for a in sorted(assignments, key=lambda x: x.id):
        task = next((t for t in projects[a.project_id].tasks if t.id == a.task_id), None)
        quarters = (min(a.hours_per_day, Decimal(8)) * 4).to_integral_value()
        hours = max(quarters / 4, Decimal("0.25"))
        day, booked = a.start_date, 0
        while booked < days and day <= a.end_date:
            if day.weekday() < 5:
                entries.append(
                    TimeEntry(
                        id=canonical_id("time_entry", "time_capture", f"{a.id}/{day}"),
                        project_id=a.project_id,
                        task_id=a.task_id,
                        consultant_id=a.consultant_id,
                        date=day,
                        hours=hours,
                        state=ApprovalState.APPROVED,
                        description=f"{task.name if task else 'Delivery'} work",
                    )
                )
                booked += 1
            day += dt.timedelta(days=1)
    return entries


def time_events(entries: Sequence[TimeEntry]) -> list[CloudEvent]:
    """``time_entry.approved`` events as a time-capture tool publishes them (stable ids)."""
    return [
        CloudEvent(
            id=uuid.uuid5(uuid.NAMESPACE_URL, f"{TIME_SOURCE}/{e.id}").hex,
            source=TIME_SOURCE,
            type=event_type("time_entry", "approved"),
            subject=e.id,
            time=dt.datetime.combine(e.date, dt.time(18), dt.UTC),
            data=e.model_dump(mode="json"),
        )
        for e in entries
    ]


def invoice_requests(projects: Sequence[str], period_end: dt.date) -> list[CloudEvent]:
    """``invoice.requested`` events of a closed billing period, one per project."""
    return [
        CloudEvent(
            id=uuid.uuid5(uuid.NAMESPACE_URL, f"{BILLING_SOURCE}/{p}/{period_end}").hex,
            source=BILLING_SOURCE,
            type=event_type("invoice", "requested"),
            subject=p,
            data={"project_id": p, "period_end": period_end.isoformat()},
        )
        for p in projects
    ]


def journal_events(store: Store, events: Sequence[CloudEvent], stream: str) -> Tally:
    """Journal canonical events the way the event fabric does (each once, checked)."""
    deliveries = [
        Delivery(stream, e.type, n, orjson.dumps(e.to_json()), {})
        for n, e in enumerate(events, start=1)
    ]
    with store.transaction("journaling published events") as conn:
        return journal_deliveries(conn, deliveries, own_source="/interlock")


# -- the Tryton server -------------------------------------------------------------------------


@dataclass(frozen=True)
class TrytonDemoServer:
    """A running trytond on a fresh copy of the demo template."""

    base_url: str
    database: str
    admin_password: SecretStr
    user_password: SecretStr


def _passwords(folder: Path) -> tuple[SecretStr, SecretStr]:
    """The demo's Tryton passwords: generated once, kept (mode 600) beside the template."""
    file = folder / "credentials.env"
    if not file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(f"admin={secrets.token_urlsafe(18)}\nuser={secrets.token_urlsafe(18)}\n")
    saved = dict(line.split("=", 1) for line in file.read_text(encoding="utf-8").splitlines())
    return SecretStr(saved["admin"]), SecretStr(saved["user"])


@contextlib.contextmanager
def tryton_server(
    cache: Path, say: Callable[[str], None] = lambda _: None
) -> Iterator[TrytonDemoServer]:
    """Build (once) the SQLite template in ``cache``, copy it, and serve the copy."""
    from interlock.connectors.tryton.bootstrap import Setup
    from interlock.connectors.tryton.server import TrytonServer, require_trytond
    from interlock.connectors.tryton.template import ensure_template, template_key

    require_trytond()
    admin, user = _passwords(cache)
    setup = Setup(user_password=user)
    if not (cache / f"tryton-sqlite-{template_key('sqlite', admin, setup)}").exists():
        say("Building the Tryton template database (once, about half a minute)...")
    template = ensure_template("sqlite", cache, admin_password=admin, setup=setup)
    workdir = cache / "run"
    for suffix in ("-wal", "-shm"):  # left by a run that was killed
        (workdir / f"demo.sqlite{suffix}").unlink(missing_ok=True)
    copy = template.database.copy("demo", workdir)
    with TrytonServer(copy, workdir) as server:
        yield TrytonDemoServer(server.base_url, copy.name, admin, user)


def topology(server: TrytonDemoServer, salesforce_url: str) -> dict[str, Any]:
    """Salesforce as CRM; Tryton as ERP and PSA; the four flows of the lifecycle."""
    return {
        "systems": {
            "salesforce": {
                "role": "crm",
                "type": "salesforce",
                "base_url": salesforce_url,
                "credentials": {
                    "client_id": {"env": "SF_CLIENT_ID"},
                    "client_secret": {"env": "SF_CLIENT_SECRET"},
                },
            },
            "tryton": {
                "role": "erp",
                "also": ["psa"],
                "type": "tryton",
                "base_url": server.base_url,
                "credentials": {"password": {"env": "TRYTON_PASSWORD"}},
                "options": {"database": server.database, "username": "interlock"},
            },
        },
        "flows": {
            "mobilize": {"enabled": True},
            "post_time": {"enabled": True},
            "invoice_project": {"enabled": True},
            "project_changes": {"enabled": True},
        },
    }


# -- the run -------------------------------------------------------------------------------


@dataclass
class BilledProject:
    """One project's invoice next to what the contract says it should be."""

    project: str
    billing: str
    number: str | None
    total: Decimal
    expected: Decimal
    """Hours × contracted rate for time and materials; fixed fee and milestones bill no
    time (Tryton invoices them on progress or by hand)."""


@dataclass
class TrytonDemoResult:
    """What the Tryton demo did, for the summary table."""

    deals: int = 0
    won: int = 0
    mobilized: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    failed: int = 0
    customers: int = 0
    projects: int = 0
    tasks: int = 0
    employees: int = 0
    allocations: int = 0
    time_entries: int = 0
    timesheet_lines: int = 0
    hours: Decimal = Decimal(0)
    invoices: list[BilledProject] = field(default_factory=list)
    person_change_recorded: bool = False
    echoes_dropped: int = 0
    duplicates_refused: int = 0
    elapsed: float = 0.0
    template_seconds: float = 0.0


@contextlib.contextmanager
def salesforce_sandbox(firm: Firm) -> Iterator[tuple[Any, dict[str, str], str]]:
    """The Salesforce sandbox seeded from ``firm``: (state, deal key → id, base URL)."""
    from interlock.sandbox import salesforce
    from interlock.sandbox.faults import Faults
    from interlock.sandbox.server import SandboxServer

    state = salesforce.SalesforceState()
    opportunities = salesforce.seed_from_firm(state, firm)
    with SandboxServer(salesforce.create_app(state, Faults())) as server:
        yield state, opportunities, server.base_url


def flow_counts(store: Store, flow: str) -> dict[str, int]:
    """Runs of ``flow`` by status."""
    from interlock.store.schema import flow_runs

    query = (
        sa.select(flow_runs.c.status, sa.func.count())
        .where(flow_runs.c.flow == flow)
        .group_by(flow_runs.c.status)
    )
    with store.transaction("counting runs") as conn:
        return {str(status): int(n) for status, n in conn.execute(query)}


def work_until(
    hub: Hub, flow: str, total: int, *, timeout: float, progress: Progress | None = None
) -> None:
    """Run the engine until ``total`` runs of ``flow`` are final (or ``timeout``), then idle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = hub.engine.work_once()
        done = sum(n for s, n in flow_counts(hub.store, flow).items() if s in runs.RunStatus.FINAL)
        if progress is not None:
            progress(flow, done, total)
        if done >= total:
            break
        if not busy:
            time.sleep(0.02)
    hub.engine.run_until_idle(timeout=max(1.0, deadline - time.monotonic()))


def run_tryton_demo(
    database: Path,
    *,
    deals: int = 10,
    seed: int = 7,
    bad_share: float = 0.2,
    days: int = 5,
    cache: Path = Path("var/tryton-demo"),
    progress: Progress | None = None,
    say: Callable[[str], None] = lambda _: None,
    timeout: float = 300.0,
) -> TrytonDemoResult:
    """Run the lifecycle against a real Tryton; the hub's store is a fresh SQLite file."""
    from interlock.connectors.tryton import TrytonRpc
    from interlock.sandbox.salesforce import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    started = time.monotonic()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    today = dt.datetime.now(dt.UTC).date()
    # Deals closed two months ago, so their work has started and time is on the books.
    firm = generate_firm(seed, deals=deals, bad_share=bad_share, today=today - dt.timedelta(60))
    result = TrytonDemoResult(deals=len(firm.deals))
    with tryton_server(cache.resolve(), say) as server, salesforce_sandbox(firm) as sandbox:
        result.template_seconds = time.monotonic() - started
        state, opportunities, sf_url = sandbox
        environ = {
            "SF_CLIENT_ID": DEMO_CLIENT_ID,
            "SF_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "TRYTON_PASSWORD": server.user_password.get_secret_value(),
        }
        hub = build_hub(
            Settings(database_url=f"sqlite:///{database}"),
            parse_topology(topology(server, sf_url), "demo topology"),
            environ=environ,
            source="demo topology",
            policy=RetryPolicy(max_attempts=12, base_seconds=0.05, max_seconds=2.0),
        )
        person = TrytonRpc(
            "tryton", server.base_url, server.database, "admin", server.admin_password
        )
        try:
            _lifecycle(hub, person, firm, state, opportunities, result, days, progress, timeout)
        finally:
            person.close()
            hub.close()
    result.elapsed = time.monotonic() - started
    return result


def _lifecycle(
    hub: Hub,
    person: Any,
    firm: Firm,
    salesforce: Any,
    opportunities: dict[str, str],
    result: TrytonDemoResult,
    days: int,
    progress: Progress | None,
    timeout: float,
) -> None:
    load_roster(hub.store, roster(firm))
    hub.engine.run_until_idle(timeout=timeout)  # first sync: open deals, nothing to do
    for deal in firm.deals:
        salesforce.win(opportunities[deal.key])
        result.won += 1
    work_until(hub, "mobilize", len(firm.deals), timeout=timeout, progress=progress)
    good = next(d for d in firm.deals if d.defect is None)
    salesforce.update("Opportunity", opportunities[good.key], {"Description": "Signed copy"})
    hub.engine.run_until_idle(timeout=timeout)  # an edit of a won deal sets nothing up twice
    with hub.store.transaction("reading what was mobilised") as conn:
        projects = {p["id"]: Project.model_validate(p) for p in records.of_kind(conn, "project")}
        staffed = [Assignment.model_validate(a) for a in records.of_kind(conn, "assignment")]
    entries = approved_time(staffed, projects, days)
    journal_events(hub.store, time_events(entries), "TIME")
    work_until(hub, "post_time", len(entries), timeout=timeout, progress=progress)
    period_end = max((e.date for e in entries), default=dt.datetime.now(dt.UTC).date())
    journal_events(hub.store, invoice_requests(sorted(projects), period_end), "BILLING")
    work_until(hub, "invoice_project", len(projects), timeout=timeout, progress=progress)
    _a_person_edits(hub, person, projects, result, timeout)
    _collect(hub, person, projects, entries, result)
    names = {opportunities[d.key]: d.name for d in firm.deals}
    result.rejections = _rejections(hub, names)


def _a_person_edits(
    hub: Hub, person: Any, projects: dict[str, Project], result: TrytonDemoResult, timeout: float
) -> None:
    """A project manager renames a task and closes a project in Tryton itself."""
    if not projects:
        return
    project = projects[sorted(projects)[0]]
    with hub.store.transaction("finding the project in Tryton") as conn:
        native = xref.native_id(conn, "project", project.id, "tryton")
        tasks = [xref.native_id(conn, "task", t.id, "tryton") for t in project.tasks]
    if native is None or None in tasks:
        return
    task_ids = [int(t) for t in tasks if t is not None]
    done = person.model_data_id("project", "work_done_status")
    person.write("project.work", task_ids[:1], {"name": f"{project.tasks[0].name} (renamed)"})
    person.write("project.work", task_ids, {"status": done, "progress": 1.0})
    person.write("project.work", [int(native)], {"status": done, "progress": 1.0})
    hub.engine.run_until_idle(timeout=timeout)
    with hub.store.transaction("reading the project back") as conn:
        stored = Project.model_validate(records.get(conn, "project", project.id))
    result.person_change_recorded = stored.status.value == "closed" and stored.tasks[
        0
    ].name.endswith("(renamed)")


def _count(person: Any, model: str, domain: list[Any]) -> int:
    return int(person.call(f"model.{model}.search_count", domain))


def _collect(
    hub: Hub,
    person: Any,
    projects: dict[str, Project],
    entries: Sequence[TimeEntry],
    result: TrytonDemoResult,
) -> None:
    marked = "[interlock:{}:%"
    result.customers = _count(
        person, "party.identifier", [("code", "like", marked.format("customer"))]
    )
    result.employees = _count(
        person, "party.identifier", [("code", "like", marked.format("consultant"))]
    )
    result.projects = _count(person, "project.work", [("type", "=", "project")])
    result.tasks = _count(person, "project.work", [("type", "=", "task")])
    result.allocations = _count(person, "project.allocation", [])
    lines = person.search_read("timesheet.line", [], ["duration"])
    result.timesheet_lines = len(lines)
    result.hours = sum((Decimal(int(ln["duration"].total_seconds())) for ln in lines), Decimal(0))
    result.hours /= 3600
    result.time_entries = len(entries)
    rates = {t.id: t.rate.amount for p in projects.values() for t in p.tasks if t.rate}
    expected = dict.fromkeys(projects, Decimal(0))
    for entry in entries:
        expected[entry.project_id] += entry.hours * rates[str(entry.task_id)]
    with hub.store.transaction("summarising") as conn:
        invoices = {i["project_id"]: i for i in records.of_kind(conn, "invoice")}
        result.echoes_dropped = counters.read(conn).get("echoes_dropped", 0)
        result.duplicates_refused = int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM journal WHERE outcome LIKE '%duplicate%'"
            ).scalar_one()
        )
    for project in projects.values():
        invoice = invoices.get(project.id)
        lines = invoice["lines"] if invoice else []
        total = sum((Decimal(str(ln["amount"]["amount"])) for ln in lines), Decimal(0))
        by_time = project.billing_type is BillingType.TIME_AND_MATERIALS
        result.invoices.append(
            BilledProject(
                project=project.name,
                billing=project.billing_type.value,
                number=invoice["number"] if invoice else None,
                total=total,
                expected=expected[project.id].quantize(Decimal("0.01")) if by_time else Decimal(0),
            )
        )
    result.invoices.sort(key=lambda b: b.project)
    statuses: dict[str, int] = {}
    for flow in ("mobilize", "post_time", "invoice_project", "project_changes"):
        for status, n in flow_counts(hub.store, flow).items():
            statuses[status] = statuses.get(status, 0) + n
    result.mobilized = flow_counts(hub.store, "mobilize").get(runs.RunStatus.SUCCEEDED, 0)
    result.rejected = statuses.get(runs.RunStatus.REJECTED, 0)
    result.failed = statuses.get(runs.RunStatus.FAILED, 0)


def _rejections(hub: Hub, names: dict[str, str]) -> list[Rejection]:
    """Deals mobilize refused, with every broken rule and the team that owns it."""
    found = []
    with hub.store.transaction("listing rejections") as conn:
        rejected = runs.listing(conn, status=runs.RunStatus.REJECTED, flow="mobilize", limit=1000)
        for run in rejected:
            envelope = conn.execute(
                sa.select(journal_table.c.envelope).where(journal_table.c.id == run["journal_id"])
            ).scalar_one()
            error = run["error"] or {}
            reasons = [f"{p['field']}: {p['rule']}" for p in error.get("problems", [])]
            native = str(CloudEvent.model_validate(envelope).data.get("native_id"))
            found.append(
                Rejection(
                    names.get(native, run["business_key"]),
                    reasons or [str(error.get("reason"))],
                    error.get("team"),
                )
            )
    return sorted(found, key=lambda r: r.deal)
