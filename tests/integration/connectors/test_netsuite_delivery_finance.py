"""The NetSuite connector's consultants, project tasks, assignments, time, expenses and
invoices against the sandbox over real HTTP, and its parallel ``upsert_many``."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from interlock.connectors.base import UpsertResult
from interlock.connectors.netsuite import NetSuiteConfig, NetSuiteConnector, outcomes_of
from interlock.exceptions import (
    ConnectorUnavailable,
    RateLimited,
    RecordNotFound,
    RecordRejected,
)
from interlock.model import (
    ApprovalState,
    Assignment,
    Consultant,
    Customer,
    Expense,
    Invoice,
    InvoiceStatus,
    Project,
    TimeEntry,
    canonical_id,
)
from interlock.sandbox.faults import Faults
from interlock.sandbox.netsuite import NetSuiteState, create_app
from interlock.sandbox.server import SandboxServer


@pytest.fixture
def state() -> NetSuiteState:
    state = NetSuiteState(clock=lambda: dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    state.register_tba("ck", "cs", "tid", "ts")
    return state


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def server(state: NetSuiteState, faults: Faults) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(state, faults)) as server:
        yield server


def connect(server: SandboxServer, **options: Any) -> NetSuiteConnector:
    config = NetSuiteConfig(
        base_url=server.base_url,
        account_id="1234567_SB1",
        auth_method="tba",
        consumer_key="ck",
        consumer_secret="cs",
        token_id="tid",
        token_secret="ts",
        **options,
    )
    return NetSuiteConnector("netsuite", config)


@pytest.fixture
def connector(server: SandboxServer) -> Iterator[NetSuiteConnector]:
    connector = connect(server)
    yield connector
    connector.close()


class Refs:
    """A customer, a project with two tasks and a consultant, written through the connector."""

    def __init__(self, connector: NetSuiteConnector) -> None:
        self.customer = connector.upsert(
            "customer", Customer(id="cust-1", name="Acme", currency="EUR")
        ).native_id
        self.project = connector.upsert("project", project(), {"customer": self.customer})
        self.employee = connector.upsert("consultant", consultant()).native_id

    def time(self, *, task: bool = True) -> dict[str, str]:
        refs = {"employee": self.employee, "project": self.project.native_id}
        return {**refs, "task": self.project.children["task-design"]} if task else refs


@pytest.fixture
def refs(connector: NetSuiteConnector) -> Refs:
    return Refs(connector)


def project() -> Project:
    return Project.model_validate(
        {
            "id": "proj-1",
            "name": "ERP Rollout",
            "customer_id": "cust-1",
            "start_date": "2026-03-01",
            "end_date": "2026-06-30",
            "billing_type": "time_and_materials",
            "tasks": [
                {
                    "id": "task-design",
                    "project_id": "proj-1",
                    "name": "Design",
                    "role": "Architect",
                    "budget_hours": "40",
                    "billing_type": "time_and_materials",
                },
                {
                    "id": "task-build",
                    "project_id": "proj-1",
                    "name": "Build",
                    "billing_type": "time_and_materials",
                },
            ],
        }
    )


def consultant(**overrides: Any) -> Consultant:
    values = {
        "id": "cons-1",
        "name": "Ada King Lovelace",
        "email": "ada@firm.test",
        "role": "Senior Consultant",
        "cost_rate": {"amount": "80", "currency": "USD"},
        **overrides,
    }
    return Consultant.model_validate(values)


def entry(**overrides: Any) -> TimeEntry:
    values = {
        "id": "te-1",
        "project_id": "proj-1",
        "task_id": "task-design",
        "consultant_id": "cons-1",
        "date": "2026-03-03",
        "hours": "7.25",
        "state": "approved",
        "description": "Workshop",
        **overrides,
    }
    return TimeEntry.model_validate(values)


def expense(**overrides: Any) -> Expense:
    values = {
        "id": "exp-1",
        "project_id": "proj-1",
        "consultant_id": "cons-1",
        "date": "2026-03-04",
        "category": "travel",
        "amount": {"amount": "120.50", "currency": "EUR"},
        "state": "approved",
        **overrides,
    }
    return Expense.model_validate(values)


def invoice(*quantities: int, **overrides: Any) -> Invoice:
    lines = [
        {
            "description": f"Consulting {i}",
            "quantity": str(q),
            "unit_price": {"amount": "150", "currency": "EUR"},
            "amount": {"amount": str(q * 150), "currency": "EUR"},
        }
        for i, q in enumerate(quantities or (10,))
    ]
    values = {
        "id": "inv-1",
        "customer_id": "cust-1",
        "project_id": "proj-1",
        "currency": "EUR",
        "issue_date": "2026-03-31",
        "due_date": "2026-04-30",
        "po_number": "PO-77",
        "lines": lines,
        **overrides,
    }
    return Invoice.model_validate(values)


# -- writes ----------------------------------------------------------------------------------


def test_consultant_becomes_one_employee(
    connector: NetSuiteConnector, state: NetSuiteState
) -> None:
    first = connector.upsert("consultant", consultant())
    second = connector.upsert("consultant", consultant(role="Principal", active=False))
    assert (first.created, second.created, first.native_id) == (True, False, second.native_id)
    [employee] = state.records("employee")
    assert (employee["firstName"], employee["lastName"]) == ("Ada King", "Lovelace")
    assert (employee["title"], employee["laborCost"], employee["isInactive"]) == (
        "Principal",
        80.0,
        True,
    )
    assert connector.find("consultant", "cons-1") == first.native_id


def test_project_writes_its_tasks_and_returns_their_ids(
    connector: NetSuiteConnector, state: NetSuiteState, refs: Refs
) -> None:
    again = connector.upsert("project", project(), {"customer": refs.customer})
    assert again.children == refs.project.children
    tasks = {t["externalId"]: t for t in state.records("projectTask")}
    assert set(tasks) == {"task-design", "task-build"}
    design = tasks["task-design"]
    assert design["id"] == refs.project.children["task-design"]
    assert (design["project"], design["title"], design["estimatedWork"]) == (
        refs.project.native_id,
        "Design",
        40.0,
    )
    assert design["message"] == "Role: Architect"
    assert tasks["task-build"].get("message") is None


def test_assignment_is_a_percent_allocation_and_reads_back(
    connector: NetSuiteConnector, state: NetSuiteState, refs: Refs
) -> None:
    assignment = Assignment.model_validate(
        {
            "id": "asg-1",
            "project_id": "proj-1",
            "consultant_id": "cons-1",
            "task_id": "task-design",
            "start_date": "2026-03-02",
            "end_date": "2026-03-13",
            "hours_per_day": "6",
        }
    )
    result = connector.upsert("assignment", assignment, refs.time())
    [allocation] = state.records("resourceAllocation")
    assert (allocation["allocationAmount"], allocation["allocationUnit"]) == (75.0, "P")
    assert allocation["numberHours"] == 60.0
    back = connector.to_canonical(connector.get("assignment", result.native_id))
    assert isinstance(back, Assignment)
    assert (back.id, back.hours_per_day, back.start_date) == (
        "asg-1",
        Decimal(6),
        assignment.start_date,
    )
    assert back.consultant_id == canonical_id("consultant", "netsuite", refs.employee)


def test_time_entry_becomes_one_time_bill_on_the_project_task(
    connector: NetSuiteConnector, state: NetSuiteState, refs: Refs
) -> None:
    first = connector.upsert("time_entry", entry(), refs.time())
    second = connector.upsert("time_entry", entry(hours="8", description=None), refs.time())
    assert (first.created, second.created, first.native_id) == (True, False, second.native_id)
    [bill] = state.records("timeBill")
    assert bill["externalId"] == "te-1"
    assert (bill["employee"], bill["customer"]) == (refs.employee, refs.project.native_id)
    assert bill["caseTaskEvent"] == refs.project.children["task-design"]
    assert (bill["hours"], bill["approvalStatus"], bill["isBillable"]) == (480, "3", True)
    assert bill.get("memo") is None
    connector.upsert("time_entry", entry(task_id=None), refs.time(task=False))
    assert state.records("timeBill")[0].get("caseTaskEvent") is None


def test_time_entry_refs_are_checked_before_anything_is_sent(
    connector: NetSuiteConnector, state: NetSuiteState, refs: Refs
) -> None:
    with pytest.raises(ValueError, match="employee"):
        connector.upsert("time_entry", entry(), {"project": refs.project.native_id})
    with pytest.raises(ValueError, match="task"):
        connector.upsert("time_entry", entry(), refs.time(task=False))
    with pytest.raises(ValueError, match="employee"):
        connector.upsert_many("time_entry", [(entry(id="te-ok"), refs.time()), (entry(), {})])
    assert state.records("timeBill") == []


def test_time_entry_reads_back_and_is_classified_approved(
    connector: NetSuiteConnector, refs: Refs
) -> None:
    native = connector.upsert("time_entry", entry(), refs.time()).native_id
    connector.upsert("time_entry", entry(id="te-2", state="submitted"), refs.time())
    change = connector.get("time_entry", native)
    assert connector.classify(change) == "approved"
    back = connector.to_canonical(change)
    assert isinstance(back, TimeEntry)
    assert (back.id, back.date, back.hours, back.state) == (
        "te-1",
        entry().date,
        Decimal("7.25"),
        ApprovalState.APPROVED,
    )
    assert back.project_id == canonical_id("project", "netsuite", refs.project.native_id)
    assert back.task_id == canonical_id("task", "netsuite", refs.project.children["task-design"])
    page = connector.read_changes("time_entry", None, limit=1)
    assert (len(page.changes), page.more) == (1, True)
    rest = connector.read_changes("time_entry", page.cursor)
    assert [connector.classify(c) for c in rest.changes] == ["changed"]
    with pytest.raises(RecordNotFound):
        connector.get("time_entry", "999")


def test_expense_is_one_report_with_one_line(
    connector: NetSuiteConnector, state: NetSuiteState, refs: Refs
) -> None:
    expense_refs = refs.time(task=False)
    connector.upsert("expense", expense(), expense_refs)
    result = connector.upsert(
        "expense", expense(amount={"amount": "99", "currency": "EUR"}), expense_refs
    )
    [report] = state.records("expenseReport")
    assert len(report["expense"]) == 1  # replaced, not appended
    assert (report["total"], report["status"]) == (99.0, "F")
    assert report["expense"][0]["category"] == "1"  # Travel, matched without case
    change = connector.get("expense", result.native_id)
    assert connector.classify(change) == "approved"
    back = connector.to_canonical(change)
    assert isinstance(back, Expense)
    assert (back.id, back.category, back.amount.amount, back.amount.currency) == (
        "exp-1",
        "Travel",
        Decimal(99),
        "EUR",
    )


def test_unknown_expense_category_is_rejected_before_writing(
    connector: NetSuiteConnector, state: NetSuiteState, refs: Refs
) -> None:
    with pytest.raises(RecordRejected, match="Spaceflight") as caught:
        connector.upsert("expense", expense(category="Spaceflight"), refs.time(task=False))
    assert caught.value.fields == ("category",)
    assert state.records("expenseReport") == []


def test_invoice_lines_are_replaced_on_repeat_and_read_back(
    connector: NetSuiteConnector, state: NetSuiteState, refs: Refs
) -> None:
    invoice_refs = {"customer": refs.customer, "project": refs.project.native_id}
    connector.upsert("invoice", invoice(10, 2), invoice_refs)
    result = connector.upsert("invoice", invoice(8), invoice_refs)
    [stored] = state.records("invoice")
    assert [(ln["quantity"], ln["amount"]) for ln in stored["item"]] == [(8.0, 1200.0)]
    assert (stored["total"], stored["otherRefNum"], stored["job"]) == (
        1200.0,
        "PO-77",
        refs.project.native_id,
    )
    back = connector.to_canonical(connector.get("invoice", result.native_id))
    assert isinstance(back, Invoice)
    assert (back.id, back.number, back.status, back.po_number) == (
        "inv-1",
        "INV00001",
        InvoiceStatus.POSTED,
        "PO-77",
    )
    assert back.total.amount == Decimal(1200)
    assert back.lines[0].description == "Consulting 0"
    with pytest.raises(ValueError, match="project"):
        connector.upsert("invoice", invoice(), {"customer": refs.customer})


# -- upsert_many -----------------------------------------------------------------------------


def test_upsert_many_returns_results_in_order(
    connector: NetSuiteConnector, state: NetSuiteState, refs: Refs
) -> None:
    items = [(entry(id=f"te-{i}"), refs.time()) for i in range(12)]
    results = connector.upsert_many("time_entry", items)
    bills = {b["externalId"]: b["id"] for b in state.records("timeBill")}
    assert [r.native_id for r in results] == [bills[f"te-{i}"] for i in range(12)]
    assert all(r.created for r in results)
    assert not any(r.created for r in connector.upsert_many("time_entry", items))


class FailOnce:
    """Test wrapper: answers ``status`` once to the first request whose path ends so."""

    def __init__(self, app: ASGIApp, failures: dict[str, int]) -> None:
        self.app = app
        self.failures = dict(failures)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        suffix = next((s for s in self.failures if path.endswith(s)), None)
        if suffix is None:
            await self.app(scope, receive, send)
            return
        status = self.failures.pop(suffix)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_upsert_many_raises_the_first_failure_after_the_rest_are_written(
    state: NetSuiteState,
) -> None:
    app = FailOnce(create_app(state), {"eid:te-4": 500, "eid:te-2": 503})
    with SandboxServer(app) as server:
        connector = connect(server)
        try:
            refs = Refs(connector)
            items = [(entry(id=f"te-{i}"), refs.time()) for i in range(6)]
            with pytest.raises(ConnectorUnavailable) as caught:
                connector.upsert_many("time_entry", items)
            assert caught.value.status == 503  # te-2's, the first failure in input order
            outcomes = outcomes_of(caught.value)
            assert outcomes is not None
            failed = [i for i, o in enumerate(outcomes) if not isinstance(o, UpsertResult)]
            assert failed == [2, 4]
            assert len(state.records("timeBill")) == 4
            retried = connector.upsert_many("time_entry", [items[i] for i in failed])
        finally:
            connector.close()
    assert all(r.created for r in retried)
    assert sorted(b["externalId"] for b in state.records("timeBill")) == [
        f"te-{i}" for i in range(6)
    ]


def test_a_failed_look_up_fails_every_item_and_writes_nothing(
    connector: NetSuiteConnector, state: NetSuiteState, faults: Faults, refs: Refs
) -> None:
    faults.fail_next(400)  # the SuiteQL look-up of existing external ids is refused
    items = [(entry(id=f"te-{i}"), refs.time()) for i in range(3)]
    with pytest.raises(RecordRejected) as caught:
        connector.upsert_many("time_entry", items)
    outcomes = outcomes_of(caught.value)
    assert outcomes is not None
    assert all(o is caught.value for o in outcomes)
    assert state.records("timeBill") == []


def test_flows_sharing_a_connector_share_its_slots(
    server: SandboxServer, state: NetSuiteState
) -> None:
    state.concurrency_limit = 2
    shared = connect(server, concurrency=2)
    try:
        refs = Refs(shared)
        state.processing_delay = 0.01
        batch = [(entry(id=f"te-a{i}"), refs.time()) for i in range(20)]
        singles = [(entry(id=f"te-b{i}"), refs.time()) for i in range(8)]
        worker = threading.Thread(target=shared.upsert_many, args=("time_entry", batch))
        worker.start()
        for item, item_refs in singles:
            shared.upsert("time_entry", item, item_refs)
        worker.join()
    finally:
        shared.close()
    assert len(state.records("timeBill")) == 28
    assert (state.peak_in_flight, state.rejected_over_limit) == (2, 0)


def test_a_connector_configured_above_the_account_limit_is_refused(
    server: SandboxServer, state: NetSuiteState
) -> None:
    state.concurrency_limit = 2
    greedy = connect(server, concurrency=6)
    try:
        refs = Refs(greedy)
        state.processing_delay = 0.05
        items = [(entry(id=f"te-{i}"), refs.time()) for i in range(12)]
        outcomes = greedy.upsert_each("time_entry", items)
    finally:
        greedy.close()
    assert state.rejected_over_limit > 0
    assert any(isinstance(o, RateLimited) for o in outcomes)
