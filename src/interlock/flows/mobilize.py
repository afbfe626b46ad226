"""Deal won → project mobilised in the PSA and the ERP, staffing demand recorded.

Steps, each stored before the next starts:

1. ``validate``: map the won opportunity from the CRM and check the contract metadata the
   delivery set-up needs; every failure is named (field and rule) and the run is rejected —
   nothing is created downstream, the original payload stays in the journal.
2. ``erp_customer``: upsert the customer in the ERP (keyed by its canonical id).
3. ``psa_project``: upsert the project and one task per SOW line in the PSA.
4. ``erp_project``: upsert the project (job) in the ERP under the customer. When one system
   is both PSA and ERP (Tryton), the PSA's project is the ERP's: nothing is written twice.
5. ``staffing_demand``: record roles × hours × dates as canonical staffing demand.
6. ``scheduler_demand``: publish the project and its staffing demand to the resource
   scheduler, when the topology has one. Without one, a PSA that keeps staffing (writes
   assignments, as Tryton's allocations) is staffed directly: each SOW line gets the least
   booked active consultant of its role from the roster (canonical consultant records),
   booked on its task for the line's hours spread over the contract's working days.
   A line whose role nobody on the roster has stays unstaffed, for resourcing to fill.
7. ``ready``: record the set-up cycle time, from won to ready.

At most one run exists per opportunity (the store enforces it): a second "won" event for the
same deal is refused as a duplicate, unless the first was rejected and the data was fixed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from interlock.connectors.base import Connector, NativeChange
from interlock.engine.flow import Decision, Flow, Step, StepContext
from interlock.engine.ingest import native_change
from interlock.events import CloudEvent, event_type
from interlock.exceptions import ContractViolation, FieldProblem, Team
from interlock.model import (
    Assignment,
    Consultant,
    Customer,
    Money,
    NonNegativeMoney,
    Opportunity,
    OpportunityStage,
    Project,
    StaffingDemand,
    Task,
    canonical_id,
)
from interlock.store import records, xref

HUB = "interlock"


def check_won_deal(opp: Opportunity) -> list[FieldProblem]:
    """The contract metadata rules a won deal must meet before anything is set up."""
    problems: list[FieldProblem] = []
    if opp.stage is not OpportunityStage.CLOSED_WON:
        problems.append(FieldProblem("stage", f"must be closed_won, is {opp.stage.value}"))
    if opp.customer_id is None:
        problems.append(FieldProblem("customer_id", "a won deal needs a customer account"))
    terms = opp.terms
    if terms is None:
        problems.append(
            FieldProblem(
                "terms",
                "a won deal needs contract terms (dates, billing type, currency, SOW lines)",
            )
        )
        return problems
    if terms.end_date < terms.start_date:
        problems.append(FieldProblem("terms.end_date", "must not be before terms.start_date"))
    if not terms.lines:
        problems.append(FieldProblem("terms.lines", "at least one SOW line is required"))
    for index, line in enumerate(terms.lines):
        if line.rate.currency != terms.currency:
            problems.append(
                FieldProblem(
                    f"terms.lines.{index}.rate.currency",
                    f"must be the contract currency {terms.currency}, is {line.rate.currency}",
                )
            )
    return problems


def plan_project(opp: Opportunity) -> tuple[Project, list[StaffingDemand]]:
    """The project (one task per SOW line) and staffing demand for a validated won deal."""
    terms = opp.terms
    assert terms is not None
    assert opp.customer_id is not None
    project_id = canonical_id("project", HUB, opp.id)
    tasks = tuple(
        Task(
            id=canonical_id("task", HUB, line.id),
            project_id=project_id,
            name=line.description or line.role,
            role=line.role,
            budget_hours=line.hours,
            rate=line.rate,
            billing_type=line.billing_type,
        )
        for line in terms.lines
    )
    budget = sum((line.hours * line.rate.amount for line in terms.lines), Decimal(0))
    project = Project(
        id=project_id,
        name=opp.name,
        customer_id=opp.customer_id,
        opportunity_id=opp.id,
        start_date=terms.start_date,
        end_date=terms.end_date,
        billing_type=terms.billing_type,
        budget=NonNegativeMoney(amount=budget, currency=terms.currency),
        practice=opp.practice,
        po_number=terms.po_number,
        tasks=tasks,
    )
    demand = [
        StaffingDemand(
            id=canonical_id("staffing_demand", HUB, line.id),
            project_id=project_id,
            task_id=task.id,
            role=line.role,
            hours=line.hours,
            start_date=terms.start_date,
            end_date=terms.end_date,
        )
        for line, task in zip(terms.lines, tasks, strict=True)
    ]
    return project, demand


def working_days(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days from ``start`` to ``end`` (both included); at least 1."""
    full, rest = divmod((end - start).days + 1, 7)
    days = full * 5 + sum(1 for i in range(rest) if (start.weekday() + i) % 7 < 5)
    return max(1, days)


def _overlaps(a: Assignment, demand: StaffingDemand) -> bool:
    return a.start_date <= demand.end_date and demand.start_date <= a.end_date


def staffing_plan(
    demands: Sequence[StaffingDemand],
    roster: Sequence[Consultant],
    booked: Sequence[Assignment],
) -> tuple[list[tuple[Assignment, Consultant]], list[str]]:
    """One consultant per demand: (assignment, consultant) pairs, and unstaffed demand ids.

    The least booked active consultant of the demand's role (hours a day already assigned
    over the demand's dates; ties by id) gets ``hours`` spread over the working days, at
    most a fifth of their weekly capacity a day. A demand already staffed (its assignment is
    in ``booked``) keeps its consultant, so planning again gives the same answer.
    """
    people = {c.id: c for c in roster}
    load = list(booked)
    plan: list[tuple[Assignment, Consultant]] = []
    unstaffed: list[str] = []
    for demand in demands:
        assignment_id = canonical_id("assignment", HUB, demand.id)
        earlier = next((a for a in booked if a.id == assignment_id), None)
        if earlier is not None and earlier.consultant_id in people:
            plan.append((earlier, people[earlier.consultant_id]))
            continue
        role = demand.role.casefold()
        candidates = [c for c in roster if c.active and c.role.casefold() == role]
        if not candidates:
            unstaffed.append(demand.id)
            continue
        chosen = min(
            candidates,
            key=lambda c: (
                sum(
                    a.hours_per_day
                    for a in load
                    if a.consultant_id == c.id and _overlaps(a, demand)
                ),
                c.id,
            ),
        )
        daily = demand.hours / working_days(demand.start_date, demand.end_date)
        daily = min(daily, chosen.capacity_hours_per_week / 5)
        cost = chosen.cost_rate
        assignment = Assignment(
            id=assignment_id,
            project_id=demand.project_id,
            consultant_id=chosen.id,
            task_id=demand.task_id,
            demand_id=demand.id,
            start_date=demand.start_date,
            end_date=demand.end_date,
            hours_per_day=max(Decimal("0.01"), daily.quantize(Decimal("0.01"), ROUND_CEILING)),
            cost_assumption=(
                Money(amount=cost.amount * demand.hours, currency=cost.currency) if cost else None
            ),
        )
        load.append(assignment)
        plan.append((assignment, chosen))
    return plan, unstaffed


class Mobilize(Flow):
    """Mobilise a won deal: customer and project in the ERP, project and tasks in the PSA."""

    name: ClassVar[str] = "mobilize"
    triggers: ClassVar[frozenset[str]] = frozenset({event_type("opportunity", "won")})
    required_roles: ClassVar[tuple[str, ...]] = ("crm", "psa", "erp")
    sources: ClassVar[tuple[tuple[str, str], ...]] = (("crm", "opportunity"),)
    blocks: ClassVar[tuple[str, ...]] = ("post_time", "staffing")

    def holds_on_failure(
        self, business_key: str, outputs: Mapping[str, Mapping[str, Any]]
    ) -> list[tuple[str, tuple[str, ...]]]:
        """Hold the project (time posting, staffing) when its set-up failed after validation.

        A rejected deal has no project yet, so nothing depends on it and nothing is held.
        """
        project = outputs.get("validate", {}).get("project")
        if not project:
            return []
        return [(str(project["id"]), self.blocks)]

    def check_payload(
        self, payload: dict[str, Any], event: CloudEvent, systems: Mapping[str, Connector]
    ) -> None:
        """An edited deal must map and meet the won-deal rules."""
        change = native_change(event)
        crm = systems[str(event.data["system"])]
        opp = crm.to_canonical(
            NativeChange(
                kind=change.kind,
                native_id=change.native_id,
                version=change.version,
                changed_at=change.changed_at,
                payload=payload,
            )
        )
        assert isinstance(opp, Opportunity)
        problems = check_won_deal(opp)
        if problems:
            raise ContractViolation(f"opportunity {opp.name!r}", problems, team=Team.SALES_OPS)

    def decide(
        self,
        event: CloudEvent,
        conn: sa.Connection,
        systems: Mapping[str, Connector],
        roles: Mapping[str, str],
    ) -> Decision:
        """Every won opportunity gets one run, keyed by the opportunity's canonical id."""
        if event.subject is None:
            return Decision.ignore("event has no subject")
        return Decision.run(event.subject)

    def steps(self) -> list[tuple[str, Step]]:
        """The ordered steps."""
        return [
            ("validate", self.validate),
            ("erp_customer", self.erp_customer),
            ("psa_project", self.psa_project),
            ("erp_project", self.erp_project),
            ("staffing_demand", self.staffing_demand),
            ("scheduler_demand", self.scheduler_demand),
            ("ready", self.ready),
        ]

    def validate(self, ctx: StepContext) -> dict[str, Any]:
        """Map and check the deal; reject it naming every broken rule."""
        crm = ctx.system("crm")
        change = native_change(ctx.event)
        opp = crm.to_canonical(change)
        assert isinstance(opp, Opportunity)
        problems = check_won_deal(opp)
        if problems:
            raise ContractViolation(f"opportunity {opp.name!r}", problems, team=Team.SALES_OPS)
        account = crm.related(change, "customer")
        if account is None:
            raise ContractViolation(
                f"opportunity {opp.name!r}",
                [FieldProblem("customer_id", "the customer account could not be read")],
                team=Team.SALES_OPS,
            )
        customer = crm.to_canonical(account)
        assert isinstance(customer, Customer)
        project, demand = plan_project(opp)
        won_at = opp.won_at or ctx.event.time
        return {
            "opportunity": opp.model_dump(mode="json"),
            "customer": customer.model_dump(mode="json"),
            "project": project.model_dump(mode="json"),
            "demand": [d.model_dump(mode="json") for d in demand],
            "won_at": won_at.isoformat(),
        }

    def erp_customer(self, ctx: StepContext) -> dict[str, Any]:
        """Upsert the customer in the ERP."""
        customer = Customer.model_validate(ctx.outputs["validate"]["customer"])
        erp, name = ctx.system("erp"), ctx.system_name("erp")
        result = erp.upsert("customer", customer)
        ctx.remember_write("erp", "customer", customer, result.native_id)
        with ctx.store.transaction("linking the customer") as conn:
            xref.link(conn, "customer", customer.id, name, result.native_id)
        return {"native_id": result.native_id, "created": result.created}

    def psa_project(self, ctx: StepContext) -> dict[str, Any]:
        """Upsert the project and its tasks in the PSA."""
        project = Project.model_validate(ctx.outputs["validate"]["project"])
        psa, name = ctx.system("psa"), ctx.system_name("psa")
        refs = {}
        if name == ctx.system_name("erp"):  # one system for both: the customer is there
            refs["customer"] = str(ctx.outputs["erp_customer"]["native_id"])
        result = psa.upsert("project", project, refs=refs or None)
        ctx.remember_write("psa", "project", project, result.native_id)
        with ctx.store.transaction("linking the PSA project") as conn:
            xref.link(conn, "project", project.id, name, result.native_id)
            for task_id, native in result.children.items():
                xref.link(conn, "task", task_id, name, native)
        return {
            "native_id": result.native_id,
            "created": result.created,
            "tasks": dict(result.children),
        }

    def erp_project(self, ctx: StepContext) -> dict[str, Any]:
        """Upsert the project (job) in the ERP under the customer."""
        project = Project.model_validate(ctx.outputs["validate"]["project"])
        erp, name = ctx.system("erp"), ctx.system_name("erp")
        if name == ctx.system_name("psa"):
            psa = ctx.outputs["psa_project"]
            return {"native_id": psa["native_id"], "created": False, "same_as": "psa"}
        customer_native = str(ctx.outputs["erp_customer"]["native_id"])
        result = erp.upsert("project", project, refs={"customer": customer_native})
        ctx.remember_write("erp", "project", project, result.native_id)
        with ctx.store.transaction("linking the ERP project") as conn:
            xref.link(conn, "project", project.id, name, result.native_id)
            for task_id, native in result.children.items():
                xref.link(conn, "task", task_id, name, native)
        return {"native_id": result.native_id, "created": result.created}

    def staffing_demand(self, ctx: StepContext) -> dict[str, Any]:
        """Record the project, customer and staffing demand in the canonical store."""
        out = ctx.outputs["validate"]
        with ctx.store.transaction("recording staffing demand") as conn:
            records.put(conn, "customer", Customer.model_validate(out["customer"]))
            records.put(conn, "project", Project.model_validate(out["project"]))
            for item in out["demand"]:
                records.put(conn, "staffing_demand", StaffingDemand.model_validate(item))
        return {"demands": len(out["demand"])}

    def scheduler_demand(self, ctx: StepContext) -> dict[str, Any]:
        """Publish the project and its staffing demand to the scheduler (if there is one).

        Without a scheduler, a PSA that keeps staffing (writes consultants and assignments)
        is staffed directly (``staff_in_psa``).
        """
        if "scheduler" not in ctx.roles:
            if {"consultant", "assignment"} <= ctx.system("psa").kinds:
                return self.staff_in_psa(ctx)
            return {"published": 0, "skipped": "no scheduler in the topology"}
        out = ctx.outputs["validate"]
        project = Project.model_validate(out["project"])
        scheduler, name = ctx.system("scheduler"), ctx.system_name("scheduler")
        result = scheduler.upsert("project", project)
        demands = [StaffingDemand.model_validate(item) for item in out["demand"]]
        published = scheduler.upsert_many(
            "staffing_demand", [(d, {"project": result.native_id}) for d in demands]
        )
        with ctx.store.transaction("linking scheduler records") as conn:
            xref.link(conn, "project", project.id, name, result.native_id)
            for demand, outcome in zip(demands, published, strict=True):
                xref.link(conn, "staffing_demand", demand.id, name, outcome.native_id)
        return {"native_id": result.native_id, "published": len(published)}

    def staff_in_psa(self, ctx: StepContext) -> dict[str, Any]:
        """Book a consultant of the role from the roster on each SOW line's task in the PSA.

        The plan is recorded in the canonical store first (a step run again keeps it); then
        each consultant is upserted in the PSA (and in the ERP, when that is another system,
        for costing and time) and the assignment on the task, all cross-referenced.
        """
        out = ctx.outputs["validate"]
        demands = [StaffingDemand.model_validate(item) for item in out["demand"]]
        with ctx.store.transaction("reading the roster") as conn:
            roster = [Consultant.model_validate(c) for c in records.of_kind(conn, "consultant")]
            booked = [Assignment.model_validate(a) for a in records.of_kind(conn, "assignment")]
        plan, unstaffed = staffing_plan(demands, roster, booked)
        with ctx.store.transaction("recording the staffing plan") as conn:
            for assignment, _ in plan:  # first, so a step run again plans the same people
                records.put(conn, "assignment", assignment)
        psa, psa_name, erp_name = ctx.system("psa"), ctx.system_name("psa"), ctx.system_name("erp")
        tasks = ctx.outputs["psa_project"]["tasks"]
        staffed = []
        for assignment, consultant in plan:
            employee = psa.upsert("consultant", consultant).native_id
            links = [("consultant", consultant.id, psa_name, employee)]
            if erp_name != psa_name and "consultant" in ctx.system("erp").kinds:
                erp_employee = ctx.system("erp").upsert("consultant", consultant).native_id
                links.append(("consultant", consultant.id, erp_name, erp_employee))
            refs = {"task": str(tasks[str(assignment.task_id)]), "employee": employee}
            result = psa.upsert("assignment", assignment, refs=refs)
            links.append(("assignment", assignment.id, psa_name, result.native_id))
            with ctx.store.transaction("linking an assignment") as conn:
                for kind, cid, system, native in links:
                    xref.link(conn, kind, cid, system, native)
            staffed.append({"id": assignment.id, "consultant_id": consultant.id})
        return {"published": 0, "staffed_in": psa_name, "staffed": staffed, "unstaffed": unstaffed}

    def ready(self, ctx: StepContext) -> dict[str, Any]:
        """Record the set-up cycle time, from won to ready."""
        won_at = dt.datetime.fromisoformat(ctx.outputs["validate"]["won_at"])
        ready_at = dt.datetime.now(dt.UTC)
        cycle = max(0.0, (ready_at - won_at).total_seconds())
        project = ctx.outputs["validate"]["project"]
        return {
            "emit": [ctx.caused(event_type("project", "mobilized"), project, str(project["id"]))],
            "ready_at": ready_at.isoformat(),
            "metrics": {"cycle_seconds": round(cycle, 3), "won_at": won_at.isoformat()},
        }
