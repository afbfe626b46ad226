"""Deal won → project mobilised in the PSA and the ERP, staffing demand recorded.

Steps, each stored before the next starts:

1. ``validate``: map the won opportunity from the CRM and check the contract metadata the
   delivery set-up needs; every failure is named (field and rule) and the run is rejected —
   nothing is created downstream, the original payload stays in the journal.
2. ``erp_customer``: upsert the customer in the ERP (keyed by its canonical id).
3. ``psa_project``: upsert the project and one task per SOW line in the PSA.
4. ``erp_project``: upsert the project (job) in the ERP under the customer.
5. ``staffing_demand``: record roles × hours × dates as canonical staffing demand.
6. ``scheduler_demand``: publish the project and its staffing demand to the resource
   scheduler, when the topology has one.
7. ``ready``: record the set-up cycle time, from won to ready.

At most one run exists per opportunity (the store enforces it): a second "won" event for the
same deal is refused as a duplicate, unless the first was rejected and the data was fixed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from interlock.connectors.base import Connector, NativeChange
from interlock.engine.flow import Decision, Flow, Step, StepContext
from interlock.engine.ingest import native_change
from interlock.events import CloudEvent, event_type
from interlock.exceptions import ContractViolation, FieldProblem, Team
from interlock.model import (
    Customer,
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
        result = psa.upsert("project", project)
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
        customer_native = str(ctx.outputs["erp_customer"]["native_id"])
        result = erp.upsert("project", project, refs={"customer": customer_native})
        ctx.remember_write("erp", "project", project, result.native_id)
        with ctx.store.transaction("linking the ERP project") as conn:
            xref.link(conn, "project", project.id, name, result.native_id)
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
        """Publish the project and its staffing demand to the scheduler (if there is one)."""
        if "scheduler" not in ctx.roles:
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
