"""A billing period closed for a project → the ERP invoices it and posts the invoice.

Trigger: a canonical ``invoice.requested`` event, one per project and billing period, whose
data is ``{"project_id": <canonical project id>, "period_end": "YYYY-MM-DD"}``. Finance's
billing calendar publishes it when a period closes (or a person asks for an off-cycle
invoice); its subject is the project id. One run per project and period end: a repeated or
replayed request invoices nothing twice.

The ERP computes the invoice from what it holds (time posted at the contracted rates, up to
the period end) and posts it; the ERP connector must offer ``invoice_project`` (Tryton does).

Steps:

1. ``validate``: read the request; the project must be set up in the ERP (while it is still
   being mobilised the step waits and retries).
2. ``invoice``: have the ERP invoice the period and post the invoice; record the canonical
   invoice, cross-reference it and emit ``invoice.posted``. Nothing due is no failure: the
   output says so. The ERP finds what it already invoiced, so a retry after a timeout bills
   nothing twice.

Time for the period should be posted before the request: time posted later is billed on the
next invoice (the ERP bills every line not invoiced yet up to the period end).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from pydantic import Field

from interlock.connectors.base import Connector
from interlock.engine.flow import Decision, Flow, Step, StepContext
from interlock.engine.retry import RetryPolicy
from interlock.events import CloudEvent, event_type
from interlock.exceptions import BusinessRuleViolation, DependencyNotReady, Team
from interlock.model import (
    Contract,
    EntityId,
    Invoice,
    InvoiceStatus,
    canonical_id,
    validate_contract,
)
from interlock.quota import Priority
from interlock.store import records, xref


class InvoiceRequest(Contract):
    """What an ``invoice.requested`` event carries."""

    project_id: EntityId
    period_end: dt.date = Field(description="Last day of the billing period.")


class BilledLine(Protocol):
    """A line of an invoice the ERP made."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    task: int | None


class BilledInvoice(Protocol):
    """An invoice the ERP made and posted."""

    id: int
    number: str | None
    state: str
    invoice_date: dt.date | None
    total_amount: Decimal
    currency: str
    lines: Sequence[BilledLine]
    created: bool


class ProjectInvoicing(Protocol):
    """An ERP connector that invoices projects itself."""

    def invoice_project(
        self, project: int | str, up_to: dt.date | None = None
    ) -> BilledInvoice | None:
        """Invoice what is due on the project up to ``up_to`` and post it."""


def _invoicing(erp: Connector) -> ProjectInvoicing:
    if not callable(getattr(erp, "invoice_project", None)):
        raise BusinessRuleViolation(
            f"{erp.system} ({erp.type}) does not invoice projects itself", team=Team.FINANCE
        )
    return erp  # type: ignore[return-value]


class InvoiceProject(Flow):
    """Invoice a project's billing period in the ERP and post the invoice."""

    name: ClassVar[str] = "invoice_project"
    triggers: ClassVar[frozenset[str]] = frozenset({event_type("invoice", "requested")})
    required_roles: ClassVar[tuple[str, ...]] = ("erp",)
    priority: ClassVar[Priority] = Priority.INVOICE
    retry_policies: ClassVar[Mapping[str, RetryPolicy]] = {
        "validate": RetryPolicy(max_attempts=8, base_seconds=2.0, max_seconds=120.0),
    }

    def decide(
        self,
        event: CloudEvent,
        conn: sa.Connection,
        systems: Mapping[str, Connector],
        roles: Mapping[str, str],
    ) -> Decision:
        """One run per project and period end."""
        project, end = event.data.get("project_id"), event.data.get("period_end")
        if not project or not end:
            return Decision.ignore("an invoice request names project_id and period_end")
        return Decision.run(f"{project}:{end}")

    def check_payload(
        self, payload: dict[str, Any], event: CloudEvent, systems: Mapping[str, Connector]
    ) -> None:
        """An edited request must still be a valid request."""
        _request(payload)

    def steps(self) -> list[tuple[str, Step]]:
        """The ordered steps."""
        return [("validate", self.validate), ("invoice", self.invoice)]

    def validate(self, ctx: StepContext) -> dict[str, Any]:
        """Read the request and find the project in the ERP."""
        request = _request(ctx.event.data.get("payload", ctx.event.data))
        erp = ctx.system_name("erp")
        _invoicing(ctx.system("erp"))
        with ctx.store.transaction("resolving the project to invoice") as conn:
            native = xref.native_id(conn, "project", request.project_id, erp)
            stored = records.get(conn, "project", request.project_id)
        if native is None or stored is None:
            raise DependencyNotReady(
                f"project {request.project_id} is not set up in {erp} (yet)", team=Team.FINANCE
            )
        return {
            **request.model_dump(mode="json"),
            "erp_project": native,
            "customer_id": stored["customer_id"],
        }

    def invoice(self, ctx: StepContext) -> dict[str, Any]:
        """Have the ERP invoice the period, post it, and record the canonical invoice."""
        out = ctx.outputs["validate"]
        erp, name = ctx.system("erp"), ctx.system_name("erp")
        period_end = dt.date.fromisoformat(out["period_end"])
        billed = _invoicing(erp).invoice_project(out["erp_project"], up_to=period_end)
        if billed is None:
            return {"invoiced": False, "reason": "nothing to invoice"}
        invoice_id = canonical_id("invoice", name, str(billed.id))
        with ctx.store.transaction("checking the invoice") as conn:
            known = records.get(conn, "invoice", invoice_id) is not None
            tasks = {
                line.task: xref.canonical_id(conn, "task", name, str(line.task))
                for line in billed.lines
                if line.task is not None
            }
        if known and not billed.created:  # the latest invoice, from an earlier request
            return {"invoiced": False, "reason": "nothing to invoice", "latest": billed.number}
        invoice = _canonical(invoice_id, out, billed, tasks)
        with ctx.store.transaction("recording the invoice") as conn:
            records.put(conn, "invoice", invoice)
            xref.link(conn, "invoice", invoice.id, name, str(billed.id))
        posted = ctx.caused(
            event_type("invoice", "posted"), invoice.model_dump(mode="json"), invoice.id
        )
        return {
            "invoiced": True,
            "invoice_id": invoice.id,
            "native_id": str(billed.id),
            "number": billed.number,
            "total": str(billed.total_amount),
            "currency": billed.currency,
            "created": billed.created,
            "emit": [posted],
            "metrics": {"invoiced_amount": str(billed.total_amount)},
        }


def _request(data: Any) -> InvoiceRequest:
    return validate_contract(InvoiceRequest, data, subject="invoice request", team=Team.FINANCE)


def _canonical(
    invoice_id: str, out: Mapping[str, Any], billed: BilledInvoice, tasks: Mapping[int, str | None]
) -> Invoice:
    currency = billed.currency
    lines = [
        {
            "description": line.description or "(no description)",
            "quantity": line.quantity,
            "unit_price": {"amount": line.unit_price, "currency": currency},
            "amount": {"amount": line.amount, "currency": currency},
            "task_id": tasks.get(line.task) if line.task is not None else None,
        }
        for line in billed.lines
    ]
    data = {
        "id": invoice_id,
        "customer_id": out["customer_id"],
        "project_id": out["project_id"],
        "number": billed.number,
        "currency": currency,
        "issue_date": billed.invoice_date or dt.datetime.now(dt.UTC).date(),
        "status": InvoiceStatus.POSTED
        if billed.state in ("posted", "paid")
        else InvoiceStatus.DRAFT,
        "lines": lines,
    }
    return validate_contract(Invoice, data, subject=f"invoice {billed.number}", team=Team.FINANCE)


__all__ = ["InvoiceProject", "InvoiceRequest", "ProjectInvoicing"]
