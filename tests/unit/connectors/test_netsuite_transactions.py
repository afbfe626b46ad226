"""Pure parts of the NetSuite connector's newer kinds: mappings of consultants, tasks,
assignments, time, expenses and invoices; reference checks; the concurrency helpers."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from interlock.connectors.netsuite.concurrency import Slots, run_each
from interlock.connectors.netsuite.config import NetSuiteConfig
from interlock.connectors.netsuite.mapping import task_to_native
from interlock.connectors.netsuite.resources import (
    assignment_from_native,
    assignment_to_native,
    consultant_from_native,
    consultant_to_native,
    split_name,
)
from interlock.connectors.netsuite.transactions import (
    expense_from_native,
    expense_to_native,
    invoice_from_native,
    invoice_to_native,
    time_entry_from_native,
    time_entry_to_native,
)
from interlock.connectors.netsuite.wire import duration, hours_of
from interlock.connectors.netsuite.writes import check_refs
from interlock.exceptions import ConnectorUnavailable, ContractViolation
from interlock.model import (
    ApprovalState,
    Assignment,
    Consultant,
    Expense,
    Invoice,
    InvoiceStatus,
    Task,
    TimeEntry,
    canonical_id,
)

SYSTEM = "netsuite"


def entry(**overrides: Any) -> TimeEntry:
    values = {
        "id": "te-1",
        "project_id": "proj-1",
        "consultant_id": "cons-1",
        "date": "2026-03-03",
        "hours": "7.5",
        "state": "approved",
        **overrides,
    }
    return TimeEntry.model_validate(values)


def test_time_entry_to_native_shape() -> None:
    body = time_entry_to_native(
        entry(description="Workshop", billable=False),
        employee_id="7",
        project_id="12",
        task_id="30",
        service_item_id="1",
    )
    assert body == {
        "employee": {"id": "7"},
        "customer": {"id": "12"},
        "caseTaskEvent": {"id": "30"},
        "item": {"id": "1"},
        "tranDate": "2026-03-03",
        "hours": "7:30",
        "isBillable": False,
        "memo": "Workshop",
        "approvalStatus": {"id": "3"},
    }


@pytest.mark.parametrize(
    ("state", "native"),
    [("draft", "1"), ("submitted", "2"), ("approved", "3"), ("rejected", "4")],
)
def test_time_approval_states_round_trip(state: str, native: str) -> None:
    body = time_entry_to_native(
        entry(state=state), employee_id="7", project_id="12", task_id=None, service_item_id="1"
    )
    assert body["approvalStatus"] == {"id": native}
    assert body["caseTaskEvent"] is None  # clears a task set earlier
    record = {**body, "id": "5", "externalId": "te-1", "employee": {"id": "7", "refName": "A"}}
    assert time_entry_from_native(record, SYSTEM).state == ApprovalState(state)


@pytest.mark.parametrize(
    ("hours", "text"),
    [("7.5", "7:30"), ("0.25", "0:15"), ("7.333", "7:20"), ("0.999", "1:00"), ("24", "24:00")],
)
def test_hours_become_durations_to_the_minute(hours: str, text: str) -> None:
    assert duration(Decimal(hours)) == text


@pytest.mark.parametrize(
    ("text", "hours"),
    [("7:30", "7.50"), ("7:20", "7.33"), ("7.5", "7.50"), ("0:05", "0.08"), ("x", None)],
)
def test_durations_read_back_as_hundredths(text: str, hours: str | None) -> None:
    assert hours_of(text) == (Decimal(hours) if hours else None)


def test_time_entry_from_native_derives_linked_ids() -> None:
    record = {
        "id": "5",
        "employee": {"id": "7"},
        "customer": {"id": "12"},
        "caseTaskEvent": {"id": "30"},
        "tranDate": "2026-03-03",
        "hours": "7:30",
        "isBillable": True,
        "approvalStatus": "3",  # simpleEnumFormat
    }
    back = time_entry_from_native(record, SYSTEM)
    assert back.id == canonical_id("time_entry", SYSTEM, "5")
    assert back.consultant_id == canonical_id("consultant", SYSTEM, "7")
    assert back.project_id == canonical_id("project", SYSTEM, "12")
    assert back.task_id == canonical_id("task", SYSTEM, "30")
    assert (back.hours, back.billable, back.state) == (
        Decimal("7.50"),
        True,
        ApprovalState.APPROVED,
    )


def test_time_bill_without_project_or_hours_names_each_field() -> None:
    with pytest.raises(ContractViolation) as caught:
        time_entry_from_native(
            {"id": "5", "employee": {"id": "7"}, "tranDate": "2026-03-03"}, SYSTEM
        )
    assert {p.field for p in caught.value.problems} == {"project_id", "hours"}


def test_consultant_name_split_and_shape() -> None:
    assert split_name("Ada King Lovelace") == ("Ada King", "Lovelace")
    assert split_name("Cher") == ("Cher", "Cher")
    consultant = Consultant.model_validate(
        {
            "id": "cons-1",
            "name": "Grace Hopper",
            "email": "grace@firm.test",
            "role": "Principal",
            "cost_rate": {"amount": "95.5", "currency": "USD"},
            "active": False,
        }
    )
    body = consultant_to_native(consultant, subsidiary_id="3")
    assert body == {
        "firstName": "Grace",
        "lastName": "Hopper",
        "email": "grace@firm.test",
        "title": "Principal",
        "subsidiary": {"id": "3"},
        "isJobResource": True,
        "isInactive": True,
        "laborCost": 95.5,
    }
    back = consultant_from_native({**body, "id": "9", "externalId": "cons-1"}, SYSTEM)
    assert (back.id, back.name, back.role, back.active, back.cost_rate) == (
        "cons-1",
        "Grace Hopper",
        "Principal",
        False,
        None,
    )
    single = consultant_from_native(
        {"id": "9", "firstName": "Cher", "lastName": "Cher", "email": "c@x.io", "title": "Dev"},
        SYSTEM,
    )
    assert single.name == "Cher"


def test_assignment_hours_per_day_is_a_percent_of_an_eight_hour_day() -> None:
    assignment = Assignment.model_validate(
        {
            "id": "asg-1",
            "project_id": "proj-1",
            "consultant_id": "cons-1",
            "start_date": "2026-03-02",
            "end_date": "2026-03-13",
            "hours_per_day": "3",
        }
    )
    body = assignment_to_native(assignment, employee_id="7", project_id="12", task_id=None)
    assert (body["allocationAmount"], body["allocationUnit"], body["projectTask"]) == (
        37.5,
        {"id": "P"},
        None,
    )
    record = {**body, "id": "4", "externalId": "asg-1", "allocationUnit": {"id": "P"}}
    assert assignment_from_native(record, SYSTEM).hours_per_day == Decimal("3.00")
    computed = {
        **record,
        "allocationUnit": {"id": "H"},
        "allocationAmount": 30,
        "percentOfTime": 37.5,
    }
    assert assignment_from_native(computed, SYSTEM).hours_per_day == Decimal("3.00")


def test_task_to_native_shape() -> None:
    task = Task.model_validate(
        {
            "id": "task-1",
            "project_id": "proj-1",
            "name": "Design",
            "role": "Architect",
            "budget_hours": "12.5",
            "billing_type": "fixed_fee",
        }
    )
    assert task_to_native(task, project_id="12") == {
        "title": "Design",
        "project": {"id": "12"},
        "estimatedWork": 12.5,
        "plannedWork": 12.5,
        "nonBillableTask": False,
        "message": "Role: Architect",
    }


def expense(**overrides: Any) -> Expense:
    values = {
        "id": "exp-1",
        "project_id": "proj-1",
        "consultant_id": "cons-1",
        "date": "2026-03-04",
        "category": "Travel",
        "amount": {"amount": "120.50", "currency": "EUR"},
        "state": "submitted",
        **overrides,
    }
    return Expense.model_validate(values)


def test_expense_to_native_is_one_line_and_approval_flags() -> None:
    body = expense_to_native(
        expense(billable=False), employee_id="7", project_id="12", category_id="1", currency_id="2"
    )
    assert (body["complete"], body["supervisorapproval"], body["accountingapproval"]) == (
        True,
        False,
        False,
    )
    assert body["expense"] == {
        "items": [
            {
                "expensedate": "2026-03-04",
                "category": {"id": "1"},
                "amount": 120.5,
                "currency": {"id": "2"},
                "customer": {"id": "12"},
                "isBillable": False,
            }
        ]
    }
    approved = expense_to_native(
        expense(state="approved"),
        employee_id="7",
        project_id="12",
        category_id="1",
        currency_id="2",
    )
    assert approved["supervisorapproval"] is approved["accountingapproval"] is True


@pytest.mark.parametrize(
    ("status", "state"), [("A", "draft"), ("C", "submitted"), ("F", "approved"), ("E", "rejected")]
)
def test_expense_report_status_reads_as_approval_state(status: str, state: str) -> None:
    record = {
        "id": "8",
        "entity": {"id": "7"},
        "tranDate": "2026-03-04",
        "total": 120.5,
        "status": {"id": status, "refName": "..."},
        "expense": {
            "items": [
                {
                    "category": {"id": "1", "refName": "Travel"},
                    "amount": 120.5,
                    "currency": {"id": "2"},
                    "customer": {"id": "12"},
                }
            ]
        },
    }
    back = expense_from_native(record, SYSTEM, {"2": "EUR"})
    assert back.state == ApprovalState(state)
    assert (back.category, back.amount.amount, back.amount.currency) == (
        "Travel",
        Decimal("120.5"),
        "EUR",
    )


def invoice(**overrides: Any) -> Invoice:
    values = {
        "id": "inv-1",
        "customer_id": "cust-1",
        "project_id": "proj-1",
        "currency": "EUR",
        "issue_date": "2026-03-31",
        "lines": [
            {
                "description": "Design",
                "quantity": "10",
                "unit_price": {"amount": "150", "currency": "EUR"},
                "amount": {"amount": "1500", "currency": "EUR"},
            }
        ],
        **overrides,
    }
    return Invoice.model_validate(values)


def test_invoice_to_native_sends_number_only_when_known() -> None:
    body = invoice_to_native(
        invoice(po_number="PO-1"),
        customer_id="3",
        project_id="12",
        currency_id="2",
        service_item_id="1",
    )
    assert "tranId" not in body
    assert (body["otherRefNum"], body["dueDate"], body["job"]) == ("PO-1", None, {"id": "12"})
    assert body["item"]["items"] == [
        {
            "item": {"id": "1"},
            "description": "Design",
            "quantity": 10.0,
            "rate": 150.0,
            "amount": 1500.0,
        }
    ]
    numbered = invoice_to_native(
        invoice(number="2026-001"),
        customer_id="3",
        project_id=None,
        currency_id="2",
        service_item_id="1",
    )
    assert (numbered["tranId"], numbered["job"]) == ("2026-001", None)


def test_invoice_from_native_reads_lines_and_status() -> None:
    record = {
        "id": "40",
        "externalId": "inv-1",
        "entity": {"id": "3"},
        "job": {"id": "12"},
        "tranId": "INV00001",
        "tranDate": "2026-03-31",
        "currency": {"id": "2", "refName": "Euro"},
        "status": {"id": "B", "refName": "Paid In Full"},
        "otherRefNum": "PO-1",
        "total": 1599.5,
        "item": {
            "items": [
                {
                    "item": {"id": "1"},
                    "description": "Design",
                    "quantity": 10.0,
                    "rate": 150.0,
                    "amount": 1500.0,
                },
                {"item": {"id": "1", "refName": "Professional Services"}, "amount": 99.5},
            ]
        },
    }
    back = invoice_from_native(record, SYSTEM, {"2": "EUR"})
    assert (back.id, back.number, back.status, back.po_number) == (
        "inv-1",
        "INV00001",
        InvoiceStatus.PAID,
        "PO-1",
    )
    assert back.customer_id == canonical_id("customer", SYSTEM, "3")
    assert [(ln.description, ln.quantity, ln.amount.amount) for ln in back.lines] == [
        ("Design", Decimal("10.0"), Decimal("1500.0")),
        ("Professional Services", Decimal(1), Decimal("99.5")),
    ]
    assert back.total.amount == Decimal("1599.5")


def test_invoice_without_lines_or_known_currency_is_a_contract_violation() -> None:
    record = {"id": "40", "entity": {"id": "3"}, "tranDate": "2026-03-31", "currency": {"id": "9"}}
    with pytest.raises(ContractViolation) as caught:
        invoice_from_native(record, SYSTEM, {"2": "EUR"})
    assert {p.field for p in caught.value.problems} == {"currency", "lines"}


def test_check_refs_names_what_each_kind_needs() -> None:
    check_refs("time_entry", entry(), {"employee": "7", "project": "12"})
    with pytest.raises(ValueError, match=r"\['task'\]"):
        check_refs("time_entry", entry(task_id="task-1"), {"employee": "7", "project": "12"})
    with pytest.raises(ValueError, match=r"\['employee', 'project'\]"):
        check_refs("expense", expense(), None)
    check_refs("invoice", invoice(project_id=None), {"customer": "3"})
    with pytest.raises(ValueError, match=r"\['project'\]"):
        check_refs("invoice", invoice(), {"customer": "3"})
    with pytest.raises(NotImplementedError):
        check_refs("time_entry", expense(), {})


def test_concurrency_is_bounded_by_the_account_limit_range() -> None:
    base = {"base_url": "https://x.test", "account_id": "1", "auth_method": "tba"}
    secrets = dict.fromkeys(("consumer_key", "consumer_secret", "token_id", "token_secret"), "s")
    assert NetSuiteConfig.model_validate({**base, **secrets}).concurrency == 5
    with pytest.raises(ValidationError, match="concurrency"):
        NetSuiteConfig.model_validate({**base, **secrets, "concurrency": 0})


def test_slots_never_let_more_than_the_limit_through() -> None:
    slots, lock = Slots(3), threading.Lock()
    inside = peak = 0

    def work(_: int) -> int:
        nonlocal inside, peak
        with slots.held():
            with lock:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.005)
            with lock:
                inside -= 1
        return 1

    assert run_each(work, range(30), workers=10) == [1] * 30
    assert peak == 3


def test_run_each_keeps_order_and_connector_errors_in_place() -> None:
    def work(n: int) -> int:
        if n % 3 == 0:
            raise ConnectorUnavailable(SYSTEM, f"item {n}")
        return n * 10

    outcomes = run_each(work, range(7), workers=4)
    assert [o if isinstance(o, int) else "error" for o in outcomes] == [
        "error",
        10,
        20,
        "error",
        40,
        50,
        "error",
    ]


def test_run_each_raises_programming_errors_after_every_item_ran() -> None:
    ran: list[int] = []

    def work(n: int) -> int:
        if n == 0:
            raise KeyError("bug")
        time.sleep(0.01)
        ran.append(n)
        return n

    with pytest.raises(KeyError):
        run_each(work, range(5), workers=5)
    assert sorted(ran) == [1, 2, 3, 4]
