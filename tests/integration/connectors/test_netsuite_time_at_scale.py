"""Proof: 2,000 approved time entries reach NetSuite exactly once under 30% injected failures
and a 5-request account concurrency limit, with no request refused for exceeding the limit.

The driver loop stands in for the engine's retries: it calls ``upsert_many`` with the items
still pending and, when the call raises, keeps only the failed items (``outcomes_of``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel

from interlock.connectors.base import UpsertResult
from interlock.connectors.netsuite import NetSuiteConfig, NetSuiteConnector, outcomes_of
from interlock.exceptions import ConnectorError, ConnectorUnavailable, RateLimited
from interlock.model import ApprovalState, Consultant, Customer, Project, TimeEntry
from interlock.sandbox.faults import FaultPlan, Faults
from interlock.sandbox.netsuite import NetSuiteState, create_app
from interlock.sandbox.server import SandboxServer

pytestmark = pytest.mark.slow

ENTRIES, PROJECTS, EMPLOYEES, CUSTOMERS = 2000, 20, 30, 5
LIMIT = 5
FAULTS = FaultPlan(error_rates={500: 0.2, 503: 0.05, 429: 0.05}, latency_ms=2, seed=42)
Item = tuple[BaseModel, Mapping[str, str]]


@pytest.fixture
def state() -> NetSuiteState:
    state = NetSuiteState(concurrency_limit=LIMIT)
    state.processing_delay = 0.002  # every request holds its slot for a few ms
    return state


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def connector(state: NetSuiteState, faults: Faults) -> Iterator[NetSuiteConnector]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    state.register_client("scale-client", "scale-cert", public)
    with SandboxServer(create_app(state, faults)) as server:
        config = NetSuiteConfig(
            base_url=server.base_url,
            account_id="1234567_SB1",
            client_id="scale-client",
            certificate_id="scale-cert",
            private_key_pem=private,
            signing_algorithm="ES256",
            concurrency=LIMIT,
        )
        connector = NetSuiteConnector("netsuite", config)
        yield connector
        connector.close()


def drive(connector: NetSuiteConnector, kind: str, items: Sequence[Item]) -> list[UpsertResult]:
    """Upsert ``items``, retrying only the failed ones, as the engine would."""
    done: dict[int, UpsertResult] = {}
    pending = list(range(len(items)))
    for _ in range(60):
        try:
            outcomes: list[UpsertResult | ConnectorError] = list(
                connector.upsert_many(kind, [items[i] for i in pending])
            )
        except ConnectorError as exc:
            found = outcomes_of(exc)
            assert found is not None, "upsert_many must say which items failed"
            outcomes = found
        for index, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, UpsertResult):
                done[index] = outcome
            else:  # only transient failures were injected
                assert isinstance(outcome, ConnectorUnavailable | RateLimited), outcome
        pending = [i for i in pending if i not in done]
        if not pending:
            return [done[i] for i in range(len(items))]
        time.sleep(0.01)  # the engine's short backoff
    pytest.fail(f"{len(pending)} {kind} items still failing after 60 rounds")


def masters(connector: NetSuiteConnector) -> tuple[list[str], list[Project], list[UpsertResult]]:
    consultants = [
        Consultant(id=f"cons-{i}", name=f"Consultant {i}", email=f"c{i}@firm.test", role="Dev")
        for i in range(EMPLOYEES)
    ]
    employees = drive(connector, "consultant", [(c, {}) for c in consultants])
    customers = drive(
        connector,
        "customer",
        [(Customer(id=f"cust-{i}", name=f"Customer {i}"), {}) for i in range(CUSTOMERS)],
    )
    projects = [
        Project.model_validate(
            {
                "id": f"proj-{i}",
                "name": f"Project {i}",
                "customer_id": f"cust-{i % CUSTOMERS}",
                "start_date": "2026-01-01",
                "end_date": "2026-12-31",
                "billing_type": "time_and_materials",
                "tasks": [
                    {
                        "id": f"task-{i}-{t}",
                        "project_id": f"proj-{i}",
                        "name": f"Task {t}",
                        "billing_type": "time_and_materials",
                    }
                    for t in range(2)
                ],
            }
        )
        for i in range(PROJECTS)
    ]
    jobs = drive(
        connector,
        "project",
        [(p, {"customer": customers[i % CUSTOMERS].native_id}) for i, p in enumerate(projects)],
    )
    return [e.native_id for e in employees], projects, jobs


def entries(employees: list[str], projects: list[Project], jobs: list[UpsertResult]) -> list[Item]:
    items: list[Item] = []
    for n in range(ENTRIES):
        p = n % PROJECTS
        task = projects[p].tasks[n % 2]
        entry = TimeEntry(
            id=f"te-{n:05d}",
            project_id=projects[p].id,
            task_id=task.id,
            consultant_id=f"cons-{n % EMPLOYEES}",
            date=dt.date(2026, 3, 2) + dt.timedelta(days=n % 20),
            hours=Decimal("7.5"),
            state=ApprovalState.APPROVED,
        )
        refs = {
            "employee": employees[n % EMPLOYEES],
            "project": jobs[p].native_id,
            "task": jobs[p].children[task.id],
        }
        items.append((entry, refs))
    return items


def test_2000_approved_time_entries_arrive_exactly_once_within_the_limit(
    connector: NetSuiteConnector, state: NetSuiteState, faults: Faults
) -> None:
    faults.set(FAULTS)
    employees, projects, jobs = masters(connector)
    items = entries(employees, projects, jobs)

    results = drive(connector, "time_entry", items)

    bills = state.records("timeBill")
    assert len(bills) == ENTRIES
    assert sorted(b["externalId"] for b in bills) == [f"te-{n:05d}" for n in range(ENTRIES)]
    assert all(r.created for r in results)  # no item was written twice
    by_external = {b["externalId"]: b for b in bills}
    for (entry, refs), result in zip(items[::97], results[::97], strict=True):
        bill = by_external[entry.id]  # type: ignore[attr-defined]
        assert bill["id"] == result.native_id
        assert (bill["employee"], bill["customer"], bill["caseTaskEvent"]) == (
            refs["employee"],
            refs["project"],
            refs["task"],
        )
        assert (bill["hours"], bill["approvalStatus"]) == (450, "3")
    assert state.peak_in_flight == LIMIT
    assert state.rejected_over_limit == 0
    assert faults.injected > 500  # about 30% of roughly 3,000 requests failed
