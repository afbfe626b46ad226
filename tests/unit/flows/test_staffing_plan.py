"""How ``mobilize`` staffs demand when the PSA keeps staffing (no scheduler)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from interlock.flows.mobilize import staffing_plan, working_days
from interlock.model import Consultant, NonNegativeMoney, StaffingDemand

START, END = dt.date(2026, 3, 2), dt.date(2026, 3, 13)  # Monday to Friday a week later


def consultant(cid: str, role: str, *, active: bool = True) -> Consultant:
    return Consultant(
        id=cid,
        name=cid,
        email=f"{cid}@example.com",
        role=role,
        active=active,
        cost_rate=NonNegativeMoney(amount=Decimal(80), currency="USD"),
    )


def demand(did: str, role: str, hours: str) -> StaffingDemand:
    return StaffingDemand(
        id=did,
        project_id="p1",
        task_id=f"task_{did}",
        role=role,
        hours=Decimal(hours),
        start_date=START,
        end_date=END,
    )


def test_working_days_count_mondays_to_fridays() -> None:
    assert working_days(START, END) == 10
    assert working_days(dt.date(2026, 3, 7), dt.date(2026, 3, 8)) == 1  # a weekend: at least 1


def test_each_line_gets_the_least_booked_active_consultant_of_its_role() -> None:
    roster = [
        consultant("c1", "Architect"),
        consultant("c2", "Architect"),
        consultant("c3", "Architect", active=False),
        consultant("c4", "Analyst"),
    ]
    plan, unstaffed = staffing_plan(
        [demand("d1", "architect", "40"), demand("d2", "Architect", "20"), demand("d3", "PM", "8")],
        roster,
        [],
    )

    assert [(a.demand_id, c.id, a.hours_per_day) for a, c in plan] == [
        ("d1", "c1", Decimal("4.00")),  # 40 h over 10 working days
        ("d2", "c2", Decimal("2.00")),  # c1 is busier now
    ]
    assert unstaffed == ["d3"]
    assert plan[0][0].cost_assumption is not None
    assert plan[0][0].cost_assumption.amount == Decimal(3200)  # 40 h at 80


def test_a_day_is_capped_at_the_consultants_capacity_and_planning_again_is_stable() -> None:
    roster = [consultant("c1", "Architect"), consultant("c2", "Architect")]
    plan, _ = staffing_plan([demand("d1", "Architect", "200")], roster, [])
    assert plan[0][0].hours_per_day == Decimal(8)  # 40 h a week

    booked = [plan[0][0]]
    again, _ = staffing_plan([demand("d1", "Architect", "200")], roster, booked)
    assert again == plan  # the same consultant, though c1 is now the busier one
