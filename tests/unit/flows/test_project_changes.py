"""What a change read from the PSA may change in the canonical project."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from interlock.flows.project_changes import merge_project
from interlock.model import BillingType, NonNegativeMoney, Project, ProjectStatus, Task

TM = BillingType.TIME_AND_MATERIALS


def task(tid: str, name: str, rate: str = "150") -> Task:
    return Task(
        id=tid,
        project_id="p1",
        name=name,
        role="Architect",
        budget_hours=Decimal(40),
        rate=NonNegativeMoney(amount=Decimal(rate), currency="USD"),
        billing_type=TM,
    )


STORED = Project(
    id="p1",
    name="Data platform",
    customer_id="c1",
    start_date=dt.date(2026, 1, 1),
    end_date=dt.date(2026, 6, 30),
    billing_type=TM,
    tasks=(task("t1", "Design"), task("t2", "Build")),
)


def test_the_psa_renames_closes_and_adds_tasks_but_never_reprices() -> None:
    read = STORED.model_copy(
        update={
            "name": "Data platform v2",
            "status": ProjectStatus.CLOSED,
            "tasks": (task("t1", "Architecture", rate="1"), task("t3", "QA")),
        }
    )

    merged, changed, violations = merge_project(STORED, read)

    assert (merged.name, merged.status) == ("Data platform v2", ProjectStatus.CLOSED)
    assert [(t.id, t.name, t.rate) for t in merged.tasks] == [
        ("t1", "Architecture", STORED.tasks[0].rate),
        ("t2", "Build", STORED.tasks[1].rate),  # not in the PSA's copy: kept
        ("t3", "QA", STORED.tasks[0].rate),
    ]
    assert changed == ["name", "status", "tasks.0.name", "tasks.t3"]
    assert violations == ["tasks.0.rate"]


def test_an_unchanged_read_changes_nothing() -> None:
    read = STORED.model_copy(update={"status": ProjectStatus.ACTIVE})  # Tryton says "open"
    merged, changed, violations = merge_project(STORED, read)
    assert (merged, changed, violations) == (STORED, [], [])


def test_the_contract_dates_and_customer_are_not_the_psas() -> None:
    read = STORED.model_copy(update={"end_date": dt.date(2026, 12, 31), "customer_id": "c9"})
    merged, _, violations = merge_project(STORED, read)
    assert merged == STORED
    assert violations == ["customer_id", "end_date"]
