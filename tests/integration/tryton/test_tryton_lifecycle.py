"""A won deal through Tryton: customer, project, tasks, allocations, time, posted invoice.

The tests share one Tryton per backend; each writes its own deal (its ids end in a suffix of
its own), so none sees another's records.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from decimal import Decimal

import pytest

from interlock.connectors.tryton.template import Template
from interlock.model import ProjectStatus

from .conftest import make_deal, running_tryton
from .support import Deal, Mobilise, PostTime, TrytonEnv


@pytest.fixture(scope="module")
def tryton(
    tryton_templates: dict[str, Future[Template]],
    tryton_backend: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TrytonEnv]:
    """One Tryton for the module."""
    folder = tmp_path_factory.mktemp("tryton")
    with running_tryton(tryton_templates, tryton_backend, folder) as env:
        yield env


@pytest.fixture
def deal() -> Deal:
    """A deal of this test's own."""
    return make_deal(f"_{uuid.uuid4().hex[:8]}")


COUNTED = (
    "party.party",
    "party.address",
    "party.identifier",
    "company.employee",
    "company.employee_cost_price",
    "project.work",
    "project.allocation",
    "timesheet.line",
    "account.invoice",
    "account.invoice.line",
)


def test_a_won_deal_becomes_customer_project_tasks_and_allocations(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise
) -> None:
    ids = mobilise(deal)
    person = tryton.person

    (party,) = person.read("party.party", [ids.customer], ["name", "addresses"])
    assert party["name"] == "Globex Corporation"
    (address,) = person.read("party.address", party["addresses"], ["street", "city"])
    assert (address["street"], address["city"]) == ("1 Globex Way", "Springfield")

    (project,) = person.read(
        "project.work", [ids.project], ["name", "type", "party", "project_invoice_method"]
    )
    assert project["type"] == "project"
    assert project["party"] == ids.customer
    assert project["project_invoice_method"] == "timesheet"
    tasks = person.read(
        "project.work",
        [ids.tasks["task_arch"], ids.tasks["task_build"]],
        ["name", "parent", "list_price", "effort_duration", "timesheet_works", "product"],
    )
    assert [(t["name"], t["list_price"]) for t in tasks] == [
        ("Architecture", Decimal("150")),
        ("Build", Decimal("120.50")),
    ]
    assert [t["effort_duration"] for t in tasks] == [
        dt.timedelta(hours=40),
        dt.timedelta(hours=120),
    ]
    assert all(t["parent"] == ids.project and t["timesheet_works"] and t["product"] for t in tasks)

    allocations = person.search_read(
        "project.allocation",
        [("work.parent", "=", ids.project)],
        ["employee", "work", "percentage"],
    )
    booked = {(a["employee"], a["work"]): a["percentage"] for a in allocations}
    assert booked == {
        (ids.employees["cons_ada"], ids.tasks["task_arch"]): 50.0,  # 4 h of an 8 h day
        (ids.employees["cons_alan"], ids.tasks["task_build"]): 100.0,
    }
    costs = person.read("company.employee", list(ids.employees.values()), ["cost_price"])
    assert sorted(c["cost_price"] for c in costs) == [Decimal(70), Decimal(95)]


def test_approved_time_becomes_timesheet_lines_invoiced_at_contracted_rates(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise, post_time: PostTime
) -> None:
    ids = mobilise(deal)
    entries = deal.time(days=5)  # Ada 5 x 7.5 h on architecture, Alan 5 x 7.5 h on build
    posted = post_time(ids, entries)

    lines = tryton.person.read(
        "timesheet.line", [int(i) for i in posted.values()], ["duration", "employee", "description"]
    )
    assert len(lines) == 10
    assert sum((ln["duration"] for ln in lines), dt.timedelta()) == dt.timedelta(hours=75)
    assert all(ln["description"].startswith("Work on task_") for ln in lines)

    invoice = tryton.connector.invoice_project(ids.project)

    assert invoice is not None
    assert invoice.created
    assert invoice.state == "posted"
    assert invoice.number
    expected = Decimal("37.5") * Decimal("150") + Decimal("37.5") * Decimal("120.50")
    assert invoice.total_amount == expected == Decimal("10143.75")
    by_task = {line.task: (line.quantity, line.unit_price, line.amount) for line in invoice.lines}
    assert by_task == {
        ids.tasks["task_arch"]: (Decimal("37.5"), Decimal("150"), Decimal("5625.00")),
        ids.tasks["task_build"]: (Decimal("37.5"), Decimal("120.50"), Decimal("4518.75")),
    }


def test_replaying_everything_creates_nothing_new(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise, post_time: PostTime
) -> None:
    ids = mobilise(deal)
    entries = deal.time(days=3)
    first_lines = post_time(ids, entries)
    first_invoice = tryton.connector.invoice_project(ids.project)
    before = {model: tryton.count(model) for model in COUNTED}
    stamps = {model: tryton.stamps(model) for model in COUNTED}

    assert mobilise(deal) == ids
    assert post_time(ids, entries) == first_lines
    items = [
        (
            e,
            {
                "task": str(ids.tasks[deal.base(str(e.task_id))]),
                "employee": str(ids.employees[deal.base(e.consultant_id)]),
            },
        )
        for e in entries
    ]
    batch = tryton.connector.upsert_many("time_entry", items)
    assert [(r.native_id, r.created) for r in batch] == [
        (first_lines[e.id], False) for e in entries
    ]
    for entry in entries[:2]:  # the one-by-one path finds them too
        assert entry.task_id is not None
        refs = {
            "task": str(ids.tasks[deal.base(entry.task_id)]),
            "employee": str(ids.employees[deal.base(entry.consultant_id)]),
        }
        result = tryton.connector.upsert("time_entry", entry, refs)
        assert (result.native_id, result.created) == (first_lines[entry.id], False)
    again = tryton.connector.invoice_project(ids.project)

    assert {model: tryton.count(model) for model in COUNTED} == before
    assert {model: tryton.stamps(model) for model in COUNTED} == stamps  # nothing rewritten
    assert first_invoice is not None
    assert again is not None
    assert (again.id, again.created, again.total_amount) == (
        first_invoice.id,
        False,
        first_invoice.total_amount,
    )


def test_new_time_after_an_invoice_is_billed_on_the_next_one(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise, post_time: PostTime
) -> None:
    ids = mobilise(deal)
    entries = deal.time(days=4)
    post_time(ids, entries[:2])
    first = tryton.connector.invoice_project(ids.project)
    post_time(ids, entries)

    second = tryton.connector.invoice_project(ids.project)

    assert first is not None
    assert second is not None
    assert second.created
    assert second.id != first.id
    billed = Decimal(0)
    for entry in entries:
        rates = {"task_arch": Decimal(150), "task_build": Decimal("120.50")}
        rate = rates[deal.base(str(entry.task_id))]
        billed += entry.hours * rate
    assert first.total_amount + second.total_amount == billed


def test_a_project_update_changes_tasks_and_adds_new_ones(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise
) -> None:
    ids = mobilise(deal)
    arch, build = deal.project.tasks
    extra = arch.model_copy(
        update={"id": f"task_qa{deal.suffix}", "name": "QA", "rate": build.rate}
    )
    changed = deal.project.model_copy(
        update={
            "name": "Globex data platform v2",
            "tasks": (arch.model_copy(update={"name": "Design"}), build, extra),
        }
    )

    result = tryton.connector.upsert("project", changed)

    assert not result.created
    assert result.native_id == str(ids.project)
    assert {deal.base(t) for t in result.children} == {"task_arch", "task_build", "task_qa"}
    assert result.children[arch.id] == str(ids.tasks["task_arch"])
    rows = tryton.person.read(
        "project.work",
        [ids.project, *(int(v) for v in result.children.values())],
        ["name", "party"],
    )
    assert sorted(r["name"] for r in rows) == ["Build", "Design", "Globex data platform v2", "QA"]
    assert rows[0]["party"] == ids.customer  # found by the customer's marker, no refs given


def test_closing_the_project_closes_it_and_its_tasks_in_tryton(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise
) -> None:
    ids = mobilise(deal)
    closed = deal.project.model_copy(update={"status": ProjectStatus.CLOSED})

    tryton.connector.upsert("project", closed)

    done = tryton.person.model_data_id("project", "work_done_status")
    rows = tryton.person.read("project.work", [ids.project, *ids.tasks.values()], ["status"])
    assert [r["status"] for r in rows] == [done, done, done]
