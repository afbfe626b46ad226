"""Kantata mapping and change-cursor logic, without HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from interlock.connectors.kantata import mapping
from interlock.connectors.kantata.changes import Cursor, advance, fresh, read_enough
from interlock.exceptions import ConfigError, ContractViolation
from interlock.model import (
    BillingType,
    Milestone,
    NonNegativeMoney,
    Project,
    ProjectStatus,
    Task,
    canonical_id,
)

T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def money(amount: str, currency: str = "USD") -> NonNegativeMoney:
    return NonNegativeMoney(amount=Decimal(amount), currency=currency)


def project(**changes: Any) -> Project:
    fields: dict[str, Any] = {
        "id": "project_1",
        "name": "Acme - ERP Rollout",
        "customer_id": "cust_1",
        "start_date": dt.date(2026, 12, 1),
        "end_date": dt.date(2027, 3, 31),
        "billing_type": BillingType.FIXED_FEE,
        "budget": money("50000"),
        "status": ProjectStatus.ACTIVE,
        "tasks": (
            Task(
                id="task_1",
                project_id="project_1",
                name="Architecture",
                budget_hours=Decimal("12.5"),
                rate=money("260"),
                billing_type=BillingType.FIXED_FEE,
            ),
        ),
    }
    return Project(**{**fields, **changes})


def workspace(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": "1001",
        "title": "Acme - ERP Rollout",
        "start_date": "2026-12-01",
        "due_date": "2027-03-31",
        "budgeted": True,
        "price": "50000.00",
        "price_in_cents": 5000000,
        "currency": "USD",
        "currency_base_unit": 100,
        "status": {"key": 300, "message": "In Progress", "color": "green"},
        "stories_are_fixed_fee_by_default": True,
        "archived": False,
    }
    return {**fields, **changes}


def refs(**models: str) -> list[dict[str, Any]]:
    return [
        {"service_name": "interlock", "service_model": model, "service_model_ref": ref}
        for model, ref in models.items()
    ]


def test_workspace_fields_carry_name_dates_budget_status_and_billing() -> None:
    assert mapping.workspace_fields(project()) == {
        "title": "Acme - ERP Rollout",
        "start_date": "2026-12-01",
        "due_date": "2027-03-31",
        "budgeted": True,
        "price": "50000",
        "currency": "USD",
        "status_key": 300,
        "stories_are_fixed_fee_by_default": True,
    }


def test_a_project_without_budget_is_not_budgeted_and_sends_no_price() -> None:
    fields = mapping.workspace_fields(project(budget=None, tasks=()))
    assert fields["budgeted"] is False
    assert "price" not in fields
    assert "currency" not in fields


def test_a_new_workspace_is_created_as_maven_with_the_marker() -> None:
    body = mapping.new_workspace(project())
    assert body["creator_role"] == "maven"
    assert body["description"] == "[interlock:project_1]"
    assert mapping.carries_marker(body, "project_1")
    assert not mapping.carries_marker(body, "project_10")


def test_mixed_currencies_are_a_contract_violation_naming_each_field() -> None:
    euro_task = project().tasks[0].model_copy(update={"rate": money("200", "EUR")})
    with pytest.raises(ContractViolation) as caught:
        mapping.workspace_fields(project(tasks=(euro_task,)))
    assert [p.field for p in caught.value.problems] == ["tasks.0.rate.currency"]


def test_task_story_budget_is_hours_times_rate_in_subunits() -> None:
    fields = mapping.story_fields(project().tasks[0], base_unit=100)
    assert fields == {
        "title": "Architecture",
        "story_type": "task",
        "budget_estimate_in_cents": 325000,
        "time_estimate_in_minutes": 750,
        "fixed_fee": True,
    }
    assert mapping.story_fields(project().tasks[0], base_unit=1)["budget_estimate_in_cents"] == 3250


def test_a_task_without_hours_or_rate_has_no_estimates() -> None:
    bare = Task(id="t", project_id="p", name="QA", billing_type=BillingType.TIME_AND_MATERIALS)
    fields = mapping.story_fields(bare, base_unit=100)
    assert fields["budget_estimate_in_cents"] is None
    assert fields["time_estimate_in_minutes"] is None
    assert fields["fixed_fee"] is False


def test_a_milestone_is_a_milestone_story_due_on_its_date() -> None:
    milestone = Milestone(
        id="m",
        project_id="p",
        name="Go-live",
        due_date=dt.date(2027, 3, 1),
        amount=money("1500.255"),
    )
    fields = mapping.new_story(milestone, "1001", base_unit=100)
    assert (fields["story_type"], fields["due_date"], fields["budget_estimate_in_cents"]) == (
        "milestone",
        "2027-03-01",
        150026,
    )
    assert fields["workspace_id"] == "1001"
    assert fields["description"] == "[interlock:m]"


def test_changes_lists_only_fields_that_differ() -> None:
    desired = mapping.workspace_fields(project())
    assert mapping.changes(workspace(), desired) == {}
    moved = mapping.workspace_fields(
        project(end_date=dt.date(2027, 6, 30), status=ProjectStatus.ON_HOLD)
    )
    assert mapping.changes(workspace(), moved) == {"due_date": "2027-06-30", "status_key": 350}
    repriced = mapping.workspace_fields(project(budget=money("50000.01")))
    assert mapping.changes(workspace(), repriced) == {"price": "50000.01"}


def test_to_project_uses_the_references_interlock_registered() -> None:
    result = mapping.to_project(
        workspace(),
        refs(project="project_1", customer="cust_1"),
        system="kantata",
        service_name="interlock",
    )
    assert result == project(tasks=())


def test_to_project_ignores_references_of_other_services() -> None:
    others = [{**r, "service_name": "netsuite"} for r in refs(project="x", customer="c")]
    with pytest.raises(ContractViolation):
        mapping.to_project(workspace(), others, system="kantata", service_name="interlock")


def test_a_workspace_without_customer_or_dates_names_every_missing_field() -> None:
    with pytest.raises(ContractViolation) as caught:
        mapping.to_project(
            workspace(start_date=None, due_date=None, title=""),
            [],
            system="kantata",
            service_name="interlock",
        )
    fields = [p.field for p in caught.value.problems]
    assert fields[:3] == ["customer_id", "start_date", "end_date"]
    assert "name" in fields
    assert caught.value.team == "pmo"
    assert "Kantata workspace 1001" in str(caught.value)


def test_a_workspace_made_in_kantata_gets_a_derived_id() -> None:
    result = mapping.to_project(
        workspace(), refs(customer="cust_9"), system="kantata", service_name="interlock"
    )
    assert result.id == canonical_id("project", "kantata", "1001")


@pytest.mark.parametrize(
    ("status", "archived", "expected"),
    [
        ({"key": 210}, False, ProjectStatus.SETTING_UP),
        ({"key": 350}, False, ProjectStatus.ON_HOLD),
        ({"key": 305}, False, ProjectStatus.ACTIVE),
        ({"key": 500}, False, ProjectStatus.CLOSED),
        ({"key": 300}, True, ProjectStatus.CLOSED),
        (None, False, ProjectStatus.SETTING_UP),
    ],
)
def test_project_status_follows_the_key_and_archiving(
    status: dict[str, Any] | None,
    archived: bool,
    expected: ProjectStatus,
) -> None:
    assert mapping.project_status(workspace(status=status, archived=archived)) == expected


def test_budget_reads_back_in_the_workspace_currency_unit() -> None:
    result = mapping.to_project(
        workspace(currency="JPY", currency_base_unit=1, price_in_cents=120000),
        refs(customer="c"),
        system="kantata",
        service_name="interlock",
    )
    assert result.budget == money("120000", "JPY")
    unbudgeted = mapping.to_project(
        workspace(budgeted=False), refs(customer="c"), system="kantata", service_name="interlock"
    )
    assert unbudgeted.budget is None


# -- change cursor ---------------------------------------------------------------------------


def event(event_id: int, created: int, changed: int | None = None) -> dict[str, Any]:
    """An event created ``created`` seconds after T0 for a change at ``changed``."""
    return {
        "id": str(event_id),
        "created_at": (T0 + dt.timedelta(seconds=created)).isoformat(),
        "subject_changed_at": (
            T0 + dt.timedelta(seconds=created if changed is None else changed)
        ).isoformat(),
    }


def test_cursor_round_trips_through_its_text_form() -> None:
    cursor = Cursor(T0, {"7": T0, "12": T0 - dt.timedelta(seconds=30)})
    text = cursor.encode()
    assert text == "2026-11-26T09:00:00+00:00|7@0,12@30"
    assert Cursor.decode(text) == cursor
    assert Cursor.decode(None) == Cursor()
    assert Cursor().encode() is None


def test_a_damaged_cursor_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        Cursor.decode("yesterday|1@0")
    with pytest.raises(ConfigError):
        Cursor.decode("2026-11-26T09:00:00+00:00|1@soon")


def test_fresh_drops_duplicates_and_seen_events_and_sorts_by_change_time() -> None:
    window = [event(3, 10, changed=1), event(1, 5), event(2, 6), event(1, 5), event(3, 10, 1)]
    picked = fresh(window, Cursor(T0, {"2": T0}))
    assert [e["id"] for e in picked] == ["3", "1"]


def test_advance_moves_to_the_newest_delivered_and_remembers_the_overlap() -> None:
    overlap = dt.timedelta(seconds=60)
    window = [event(1, 0), event(2, 50), event(3, 100)]
    cursor = advance(Cursor(), window, window, overlap)
    assert cursor.after == T0 + dt.timedelta(seconds=100)
    assert set(cursor.seen) == {"2", "3"}, "event 1 is older than the overlap"


def test_advance_holds_back_for_an_event_left_for_later() -> None:
    overlap = dt.timedelta(seconds=60)
    late = event(9, created=200, changed=10)
    early = event(4, created=20, changed=20)
    cursor = advance(Cursor(), [late], [late, early], overlap)
    assert cursor.after == T0 + dt.timedelta(seconds=20), "event 4 must be read again"
    assert "9" in cursor.seen
    assert [e["id"] for e in fresh([late, early], cursor)] == ["4"]


def test_advance_never_goes_back_and_keeps_the_cursor_when_nothing_is_new() -> None:
    start = Cursor(T0 + dt.timedelta(seconds=500), {})
    assert advance(start, [], [], dt.timedelta(seconds=60)) is start
    moved = advance(start, [event(5, 400)], [event(5, 400)], dt.timedelta(seconds=60))
    assert moved.after == start.after


def test_read_enough_waits_until_later_pages_cannot_hold_earlier_changes() -> None:
    overlap = dt.timedelta(seconds=60)
    window = [event(i, i * 10) for i in range(1, 6)]
    assert not read_enough(window, Cursor(), limit=5, overlap=overlap)
    assert not read_enough(window, Cursor(), limit=2, overlap=overlap)
    window.append(event(6, 100))
    assert read_enough(window, Cursor(), limit=2, overlap=overlap)
