"""Kantata time entries, expenses and allocations ↔ canonical records (pure mapping)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from interlock.connectors.kantata import ledger, staffing
from interlock.exceptions import ContractViolation
from interlock.model import Assignment, canonical_id

SERVICE = "interlock"


def ref(model: str, value: str, service: str = SERVICE) -> dict[str, Any]:
    return {"service_name": service, "service_model": model, "service_model_ref": value}


def entry(**changes: Any) -> dict[str, Any]:
    record = {
        "id": "70001",
        "workspace_id": "1001",
        "story_id": "5001",
        "user_id": "2",
        "date_performed": "2026-11-23",
        "time_in_minutes": 90,
        "billable": True,
        "notes": "Design review",
        "approved": False,
        "active_submission_id": None,
    }
    return {**record, **changes}


def time_entry(record: dict[str, Any], **payload: Any) -> Any:
    return ledger.to_time_entry({"record": record, **payload}, system="kt", service_name=SERVICE)


@pytest.mark.parametrize(
    ("minutes", "hours"),
    [(90, Decimal("1.5")), (45, Decimal("0.75")), (480, Decimal("8")), (1, Decimal(1) / 60)],
)
def test_minutes_become_hours_as_exact_decimals(minutes: int, hours: Decimal) -> None:
    assert ledger.hours(minutes) == hours
    assert time_entry(entry(time_in_minutes=minutes)).hours == hours


def test_a_time_entry_maps_ids_dates_and_notes_from_this_system() -> None:
    mapped = time_entry(entry())
    assert (mapped.id, mapped.project_id, mapped.task_id, mapped.consultant_id) == (
        canonical_id("time_entry", "kt", "70001"),
        canonical_id("project", "kt", "1001"),
        canonical_id("task", "kt", "5001"),
        canonical_id("consultant", "kt", "2"),
    )
    assert (mapped.date, mapped.description, mapped.billable) == (
        dt.date(2026, 11, 23),
        "Design review",
        True,
    )


def test_interlock_references_on_workspace_story_and_user_give_the_hub_ids() -> None:
    references = {
        "workspace": [ref("customer", "cust_1"), ref("project", "project_hub")],
        "story": [ref("task", "task_hub")],
        "user": [ref("consultant", "other", service="someone-else")],
    }
    mapped = time_entry(entry(), references=references)
    assert (mapped.project_id, mapped.task_id, mapped.consultant_id) == (
        "project_hub",
        "task_hub",
        canonical_id("consultant", "kt", "2"),
    )


def test_an_entry_without_story_has_no_task() -> None:
    assert time_entry(entry(story_id=None)).task_id is None


@pytest.mark.parametrize(
    ("approved", "active", "submission", "state"),
    [
        (False, None, None, "draft"),
        (False, "7001", {"id": "7001", "status": "pending"}, "submitted"),
        (False, "7001", {"id": "7001", "status": "rejected"}, "rejected"),
        (False, "7001", {"id": "7001", "status": "canceled"}, "draft"),
        (False, "7002", {"id": "7001", "status": "pending"}, "draft"),
        (True, "7001", {"id": "7001", "status": "approved"}, "approved"),
        (True, None, None, "approved"),
    ],
)
def test_approval_state_follows_the_flag_then_the_active_submission(
    approved: bool, active: str | None, submission: dict[str, Any] | None, state: str
) -> None:
    record = entry(approved=approved, active_submission_id=active)
    assert ledger.approval_state(record, submission) == state
    assert time_entry(record, submission=submission).state == state


def test_approval_is_seen_only_in_an_event_that_approves() -> None:
    created_draft = {"event_type": "time_entry:created", "current_payload": {"approved": False}}
    created_approved = {"event_type": "time_entry:created", "current_payload": {"approved": True}}
    edited = {"event_type": "time_entry:updated", "payload_changes": {"notes": ["a", "b"]}}
    flipped = {"event_type": "time_entry:updated", "payload_changes": {"approved": [False, True]}}
    undone = {"event_type": "time_entry:updated", "payload_changes": {"approved": [True, False]}}
    assert not ledger.approval_seen([created_draft, edited, undone])
    assert ledger.approval_seen([created_draft, flipped])
    assert ledger.approval_seen([created_approved])


def test_a_bad_entry_is_a_pmo_contract_violation_naming_each_field() -> None:
    with pytest.raises(ContractViolation) as caught:
        time_entry(entry(workspace_id=None, date_performed=None, time_in_minutes=1500))
    assert {p.field for p in caught.value.problems} == {"project_id", "date", "hours"}
    assert caught.value.team == "pmo"


@pytest.mark.parametrize(
    ("cents", "currency", "amount"),
    [
        (12345, "USD", Decimal("123.45")),
        (12345, "JPY", Decimal(12345)),
        (12345, "KWD", Decimal("12.345")),
    ],
)
def test_expense_amounts_are_read_in_the_currency_subunit(
    cents: int, currency: str, amount: Decimal
) -> None:
    record = {
        "id": "80001",
        "workspace_id": "1001",
        "user_id": "2",
        "date": "2026-11-24",
        "category": "Travel",
        "amount_in_cents": cents,
        "currency": currency,
        "billable": False,
        "approved": True,
    }
    mapped = ledger.to_expense({"record": record}, system="kt", service_name=SERVICE)
    assert (mapped.amount.amount, mapped.amount.currency) == (amount, currency)
    assert (mapped.id, mapped.state, mapped.billable) == (
        canonical_id("expense", "kt", "80001"),
        "approved",
        False,
    )


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (dt.date(2026, 1, 5), dt.date(2026, 1, 9), 5),  # Monday to Friday
        (dt.date(2026, 1, 5), dt.date(2026, 1, 18), 10),  # two weeks with their weekends
        (dt.date(2026, 1, 10), dt.date(2026, 1, 11), 2),  # a weekend only: calendar days
    ],
)
def test_working_days_count_weekdays(start: dt.date, end: dt.date, days: int) -> None:
    assert staffing.working_days(start, end) == days


def booking(**changes: Any) -> Assignment:
    fields: dict[str, Any] = {
        "id": "assignment_1",
        "project_id": "project_1",
        "consultant_id": "consultant_1",
        "start_date": dt.date(2026, 1, 5),
        "end_date": dt.date(2026, 1, 9),
        "hours_per_day": Decimal("7.5"),
    }
    return Assignment(**{**fields, **changes})


def test_allocation_minutes_are_the_total_over_the_working_days() -> None:
    assert staffing.total_minutes(booking()) == 2250
    assert staffing.total_minutes(booking(hours_per_day=Decimal("0.0083"))) == 2  # 2.49 → 2
    assert staffing.new_allocation(booking(), "3001", hard=False) == {
        "resource_id": "3001",
        "start_date": "2026-01-05",
        "end_date": "2026-01-09",
        "minutes": 2250,
        "hard": False,
        "notes": "[interlock:assignment_1]",
    }


def test_allocation_changes_compare_the_resource_by_its_stored_name() -> None:
    stored = {"workspace_resource_id": "3001", "minutes": 2250, "hard": True}
    assert staffing.allocation_changes(stored, {"resource_id": "3001", "minutes": 2250}) == {}
    assert staffing.allocation_changes(stored, {"resource_id": "3002", "minutes": 600}) == {
        "resource_id": "3002",
        "minutes": 600,
    }


def test_an_allocation_reads_back_as_hours_per_day_with_interlock_ids() -> None:
    payload = {
        "record": {
            "id": "4001",
            "start_date": "2026-01-05",
            "end_date": "2026-01-09",
            "minutes": 2250,
        },
        "resource": {"id": "3001", "workspace_id": "1001", "user_id": "2"},
        "references": {
            "own": [ref("assignment", "assignment_1"), ref("task", "task_1")],
            "workspace": [ref("project", "project_1")],
        },
    }
    mapped = staffing.to_assignment(payload, system="kt", service_name=SERVICE)
    assert mapped == booking(task_id="task_1", consultant_id=canonical_id("consultant", "kt", "2"))
