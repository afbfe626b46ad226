"""A real Tryton server per test, cloned from a set-up template (SQLite and PostgreSQL).

Templates are built once per machine and Tryton version (cached in pytest's cache folder
for SQLite, as a database ``interlock_tpl_<key>`` for PostgreSQL); both backends build in
parallel on first use. Each test gets a copy of the template and its own trytond.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import os
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from interlock.connectors.tryton import TrytonConfig, TrytonConnector, TrytonRpc
from interlock.connectors.tryton.bootstrap import Setup
from interlock.connectors.tryton.server import TrytonServer
from interlock.connectors.tryton.template import Template, ensure_template
from interlock.model import (
    Address,
    Assignment,
    BillingType,
    Consultant,
    Customer,
    Project,
    Task,
    TimeEntry,
)

from .support import Deal, Mobilise, Mobilised, PostTime, TrytonEnv, usd

REQUIRE_SERVICES = os.environ.get("INTERLOCK_REQUIRE_SERVICES") == "1"
PG_ADMIN_URL = os.environ.get(
    "INTERLOCK_TEST_PG_ADMIN_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
ADMIN_PASSWORD = SecretStr("tryton-admin-for-tests")
USER_PASSWORD = SecretStr("interlock-user-for-tests")
BACKENDS = ("sqlite", "postgresql")


def need_service(reason: str) -> None:
    """Skip on a bare machine; fail where services are required (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def _pg_reachable() -> bool:
    try:
        import psycopg

        url = PG_ADMIN_URL.replace("+psycopg", "")
        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return False


def _build(backend: str, cache: Path) -> Template:
    return ensure_template(
        backend,  # type: ignore[arg-type]
        cache,
        admin_password=ADMIN_PASSWORD,
        setup=Setup(user_password=USER_PASSWORD),
        pg_admin_url=PG_ADMIN_URL,
    )


@pytest.fixture(scope="session")
def tryton_templates(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Template]]]:
    """Templates of the backends the collected tests use, built in parallel."""
    if importlib.util.find_spec("trytond") is None:
        need_service("Tryton is not installed: pip install 'interlock[tryton]'")
    wanted = {
        item.callspec.params["tryton_backend"]
        for item in request.session.items
        if hasattr(item, "callspec") and "tryton_backend" in item.callspec.params
    }
    if "postgresql" in wanted and not _pg_reachable():
        wanted.discard("postgresql")
    store = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    fallback = Path(tempfile.gettempdir(), "interlock-tryton-templates")
    cache = Path(str(store.mkdir("tryton"))) if store else fallback
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {backend: pool.submit(_build, backend, cache) for backend in sorted(wanted)}


@pytest.fixture(scope="session", params=BACKENDS)
def tryton_backend(request: pytest.FixtureRequest) -> str:
    """Each Tryton test runs on SQLite and on PostgreSQL."""
    return str(request.param)


@contextlib.contextmanager
def running_tryton(
    templates: dict[str, Future[Template]], backend: str, folder: Path
) -> Iterator[TrytonEnv]:
    """A trytond on a fresh copy of ``backend``'s template, with our connector and a person."""
    if backend not in templates:
        need_service(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    template = templates[backend].result()
    database = template.database.copy(f"it_tryton_{uuid.uuid4().hex[:12]}", folder)
    server = TrytonServer(database, folder).start()
    config = TrytonConfig(base_url=server.base_url, database=database.name, password=USER_PASSWORD)
    connector = TrytonConnector("tryton", config)
    person = TrytonRpc("tryton", server.base_url, database.name, "admin", ADMIN_PASSWORD)
    try:
        yield TrytonEnv(server, database, connector, person, config)
    finally:
        connector.close()
        person.close()
        server.stop()
        database.drop()


@pytest.fixture
def tryton(
    tryton_templates: dict[str, Future[Template]], tryton_backend: str, tmp_path: Path
) -> Iterator[TrytonEnv]:
    """A running Tryton on a fresh copy of the template, and a connector logged in to it."""
    with running_tryton(tryton_templates, tryton_backend, tmp_path) as env:
        yield env


def make_deal(suffix: str = "") -> Deal:
    """Globex's data platform, staffed with Ada and Alan; ``suffix`` ends every id."""
    year = dt.datetime.now(dt.UTC).year
    tm = BillingType.TIME_AND_MATERIALS
    customer = Customer(
        id=f"cust_globex{suffix}",
        name="Globex Corporation",
        billing_address=Address(street="1 Globex Way", city="Springfield", postal_code="49007"),
    )
    consultants = (
        Consultant(
            id=f"cons_ada{suffix}",
            name="Ada Lovelace",
            email="ada@example.com",
            role="Architect",
            cost_rate=usd("95"),
        ),
        Consultant(
            id=f"cons_alan{suffix}",
            name="Alan Turing",
            email="alan@example.com",
            role="Engineer",
            cost_rate=usd("70"),
        ),
    )
    project_id = f"proj_globex_data{suffix}"
    project = Project(
        id=project_id,
        name="Globex data platform",
        customer_id=customer.id,
        start_date=dt.date(year, 1, 1),
        end_date=dt.date(year, 12, 31),
        billing_type=tm,
        tasks=(
            Task(
                id=f"task_arch{suffix}",
                project_id=project_id,
                name="Architecture",
                role="Architect",
                budget_hours=Decimal(40),
                rate=usd("150"),
                billing_type=tm,
            ),
            Task(
                id=f"task_build{suffix}",
                project_id=project_id,
                name="Build",
                role="Engineer",
                budget_hours=Decimal("120"),
                rate=usd("120.50"),
                billing_type=tm,
            ),
        ),
    )
    assignments = tuple(
        Assignment(
            id=f"asg_{c.id}",
            project_id=project.id,
            consultant_id=c.id,
            task_id=f"{task}{suffix}",
            start_date=dt.date(year, 3, 1),
            end_date=dt.date(year, 4, 30),
            hours_per_day=Decimal(hours),
        )
        for c, task, hours in zip(consultants, ("task_arch", "task_build"), ("4", "8"), strict=True)
    )
    return Deal(customer, consultants, project, assignments, suffix)


@pytest.fixture
def deal() -> Deal:
    return make_deal()


@pytest.fixture
def mobilise(tryton: TrytonEnv) -> Mobilise:
    """Write a deal to Tryton the way the flows do; safe to call again."""

    def run(deal: Deal) -> Mobilised:
        connector = tryton.connector
        customer = connector.upsert("customer", deal.customer).native_id
        employees = {
            deal.base(c.id): int(connector.upsert("consultant", c).native_id)
            for c in deal.consultants
        }
        project = connector.upsert("project", deal.project, {"customer": customer})
        tasks = {deal.base(k): int(v) for k, v in project.children.items()}
        for a in deal.assignments:
            assert a.task_id is not None
            refs = {
                "task": str(tasks[deal.base(a.task_id)]),
                "employee": str(employees[deal.base(a.consultant_id)]),
            }
            connector.upsert("assignment", a, refs)
        return Mobilised(int(customer), int(project.native_id), tasks, employees, deal.suffix)

    return run


@pytest.fixture
def post_time(tryton: TrytonEnv) -> PostTime:
    """Post approved time with the batch method."""

    def run(ids: Mobilised, entries: list[TimeEntry]) -> dict[str, str]:
        batch = []
        for entry in entries:
            assert entry.task_id is not None
            task = ids.tasks[entry.task_id.removesuffix(ids.suffix)]
            employee = ids.employees[entry.consultant_id.removesuffix(ids.suffix)]
            batch.append((entry, task, employee))
        return tryton.connector.post_time_entries(batch)

    return run
