"""Float mapping, cursor, pacing and config: pure functions, no HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from interlock.connectors.float_ import FloatConfig, mapping
from interlock.connectors.float_.budget import TokenBucket
from interlock.connectors.float_.changes import Cursor, Stream, change_of, ids_text, parse_ids
from interlock.exceptions import ContractViolation
from interlock.model import (
    Assignment,
    BillingType,
    Project,
    ProjectStatus,
    StaffingDemand,
    canonical_id,
)


def demand(hours: str, start: dt.date, end: dt.date) -> StaffingDemand:
    return StaffingDemand(
        id="demand_1",
        project_id="p",
        role="Analyst",
        hours=Decimal(hours),
        start_date=start,
        end_date=end,
    )


def task(**fields: Any) -> dict[str, Any]:
    return {
        "task_id": 90001,
        "project_id": 2001,
        "people_id": 1001,
        "people_ids": None,
        "start_date": "2027-01-04",
        "end_date": "2027-01-08",
        "hours": 7.5,
        "notes": "",
        "modified": "2026-11-26 09:00:00",
        **fields,
    }


# -- markers and projects -----------------------------------------------------------------------


def test_markers_round_trip_with_kind_and_slot() -> None:
    assert mapping.read_marker("call Ada [interlock:project:project_1] first") == (
        "project",
        "project_1",
        1,
    )
    assert mapping.read_marker(mapping.marker("staffing_demand", "d.1:x", 3)) == (
        "staffing_demand",
        "d.1:x",
        3,
    )
    assert mapping.read_marker("[interlock:] or nothing") is None
    assert mapping.read_marker(None) is None


def test_project_fields_close_archive_and_skip_a_code_longer_than_32() -> None:
    project = Project(
        id="p" * 40,
        name="Rollout",
        customer_id="c",
        start_date=dt.date(2027, 1, 4),
        end_date=dt.date(2027, 3, 1),
        billing_type=BillingType.FIXED_FEE,
        status=ProjectStatus.CLOSED,
    )
    fields = mapping.project_fields(project, "301")
    assert (fields["status"], fields["active"], fields["client_id"]) == (3, 0, 301)
    assert "project_code" not in fields


def test_changes_keep_a_planners_notes_and_compare_hours_as_decimals() -> None:
    current = {"hours": 6.0, "notes": "Mind the holidays [interlock:assignment:a1]", "status": 2}
    desired = {"hours": 6, "notes": "[interlock:assignment:a1]", "status": 1}
    assert mapping.changes(current, desired) == {"status": 1}
    lost = mapping.changes({**current, "notes": "Mind the holidays"}, desired)
    assert lost["notes"] == "Mind the holidays [interlock:assignment:a1]"


# -- demand arithmetic --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (dt.date(2027, 1, 4), dt.date(2027, 1, 8), 5),  # Monday to Friday
        (dt.date(2027, 1, 8), dt.date(2027, 1, 11), 2),  # Friday to Monday
        (dt.date(2027, 1, 9), dt.date(2027, 1, 10), 0),  # a weekend
        (dt.date(2027, 1, 4), dt.date(2027, 1, 31), 20),
    ],
)
def test_working_days_count_monday_to_friday(start: dt.date, end: dt.date, days: int) -> None:
    assert mapping.working_days(start, end) == days


def test_hours_per_day_round_half_up_to_two_decimals() -> None:
    slots, each = mapping.demand_split(
        demand("100", dt.date(2027, 1, 4), dt.date(2027, 1, 22)), Decimal(8)
    )
    assert (slots, each) == (1, Decimal("6.67"))  # 100 h / 15 days = 6.666…


def test_a_demand_above_a_day_per_day_splits_into_equal_allocations() -> None:
    slots, each = mapping.demand_split(
        demand("1000", dt.date(2027, 1, 4), dt.date(2027, 3, 26)), Decimal(8)
    )
    assert (slots, each) == (3, Decimal("5.56"))  # 16.67 h a day over 60 days


def test_a_tiny_demand_still_books_a_hundredth_of_an_hour() -> None:
    _, each = mapping.demand_split(
        demand("0.5", dt.date(2027, 1, 4), dt.date(2027, 12, 31)), Decimal(8)
    )
    assert each == Decimal("0.01")


def test_a_demand_on_a_weekend_is_a_contract_violation() -> None:
    with pytest.raises(ContractViolation, match="no working day"):
        mapping.demand_split(demand("8", dt.date(2027, 1, 9), dt.date(2027, 1, 10)), Decimal(8))


# -- to canonical -------------------------------------------------------------------------------


def test_a_task_interlock_wrote_keeps_its_assignment_id() -> None:
    assigned = mapping.to_assignment(task(notes="[interlock:assignment:asg_9]"), system="float")
    assert assigned == Assignment(
        id="asg_9",
        project_id=canonical_id("project", "float", "2001"),
        consultant_id=canonical_id("consultant", "float", "1001"),
        start_date=dt.date(2027, 1, 4),
        end_date=dt.date(2027, 1, 8),
        hours_per_day=Decimal("7.5"),
    )


def test_a_task_made_in_float_gets_a_derived_id_and_its_demand() -> None:
    assigned = mapping.to_assignment(
        task(notes="[interlock:staffing_demand:dem_1#2]", people_id=None, people_ids=[1002]),
        system="float",
    )
    assert assigned.id == canonical_id("assignment", "float", "90001")
    assert assigned.demand_id == "dem_1"
    assert assigned.consultant_id == canonical_id("consultant", "float", "1002")


def test_a_task_for_several_people_is_a_contract_violation() -> None:
    with pytest.raises(ContractViolation) as caught:
        mapping.to_assignment(task(people_id=None, people_ids=[1, 2]), system="float")
    assert caught.value.problems[0].field == "consultant_id"


def test_a_person_maps_to_a_consultant_with_weekly_capacity() -> None:
    consultant = mapping.to_consultant(
        {
            "people_id": 1001,
            "name": "Ada Costa",
            "email": "ada@firm.example",
            "job_title": "Architect",
            "tags": [{"name": "python"}],
            "work_days_hours": [0, 7, 7, 7, 7, 4, 0],
            "active": 0,
        },
        system="float",
    )
    assert (consultant.role, consultant.skills, consultant.active) == (
        "Architect",
        ("python",),
        False,
    )
    assert consultant.capacity_hours_per_week == Decimal(32)


def test_a_person_without_email_or_title_is_a_violation_naming_both() -> None:
    with pytest.raises(ContractViolation) as caught:
        mapping.to_consultant({"people_id": 1, "name": "Nameless"}, system="float")
    assert {p.field for p in caught.value.problems} == {"email", "role"}


# -- cursor -------------------------------------------------------------------------------------


def test_known_ids_are_kept_as_compact_ranges() -> None:
    ids = {*range(90001, 90251), 90300, 90302, 90303}
    text = ids_text(ids)
    assert text == "90001-90250,90300,90302-90303"
    assert parse_ids(text) == ids


def test_a_cursor_round_trips_and_garbage_is_refused() -> None:
    cursor = Cursor(
        after=dt.datetime(2026, 11, 26, 9, 0, 5, tzinfo=dt.UTC),
        seen={"90001": ("abc", "2026-11-26 09:00:05")},
        known=frozenset({90001, 90002}),
        scanned=dt.datetime(2026, 11, 26, 9, 1, tzinfo=dt.UTC),
    )
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode(None) == Cursor()
    with pytest.raises(ValueError, match="not a Float change cursor"):
        Cursor.decode("2026-11-26|12")


def test_two_edits_within_one_second_have_different_versions() -> None:
    stream = Stream("assignment", "tasks", "task_id", "task_id")
    one = change_of(stream, task(hours=4))
    two = change_of(stream, task(hours=5))
    assert one.version != two.version
    assert one.changed_at == two.changed_at == dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)


# -- pacing -------------------------------------------------------------------------------------


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_token_bucket_never_lets_more_than_the_limit_into_any_window() -> None:
    ticks = Ticks()
    bucket = TokenBucket(100, 60.0, burst=4, clock=ticks.clock, sleep=ticks.sleep)
    sent = []
    for _ in range(400):
        bucket.take()
        sent.append(ticks.now)
    busiest = max(sum(1 for t in sent if start <= t < start + 60) for start in sent)
    assert busiest <= 100
    assert sent[3] == 0.0  # the burst goes at once
    assert sent[4] > 0  # the rest is spaced
    assert 400 / sent[-1] > 0.9 * 100 / 60  # at least 90 % of the allowed rate


def test_draining_a_bucket_holds_the_next_request_back() -> None:
    ticks = Ticks()
    bucket = TokenBucket(100, 60.0, burst=4, clock=ticks.clock, sleep=ticks.sleep)
    bucket.drain(7.0)
    assert bucket.take() >= 7.0


# -- config -------------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", ["python-httpx/0.28", "ops@firm.example", "Interlock"])
def test_the_user_agent_must_name_the_app_and_a_contact(agent: str) -> None:
    with pytest.raises(ValidationError, match="user_agent"):
        FloatConfig(access_token=SecretStr("t"), user_agent=agent)


def test_a_valid_config_hides_the_token() -> None:
    config = FloatConfig(
        access_token=SecretStr("s3cret"), user_agent="Interlock (ops@firm.example)"
    )
    assert config.base_url == "https://api.float.com"
    assert "s3cret" not in repr(config)
