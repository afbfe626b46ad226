"""Money flows: time, expenses, invoices, revenue, and the dimensions they are booked on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from interlock.model.base import Contract, Currency, EntityId, Money, NonNegativeMoney


class ApprovalState(StrEnum):
    """Approval state of time and expenses in the PSA."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class FinancialDimensions(Contract):
    """Where an amount is booked: legal entity, practice, department, cost centre, region."""

    legal_entity_id: EntityId | None = None
    practice_id: EntityId | None = None
    department: str | None = None
    cost_center: str | None = None
    region: str | None = None


class TimeEntry(Contract):
    """Hours a consultant worked on a project task on one day."""

    id: EntityId
    project_id: EntityId
    task_id: EntityId | None = None
    consultant_id: EntityId
    date: dt.date
    hours: Decimal = Field(gt=0, le=24)
    billable: bool = True
    state: ApprovalState = ApprovalState.SUBMITTED
    description: str | None = None
    dimensions: FinancialDimensions | None = None


class Expense(Contract):
    """A cost a consultant incurred for a project."""

    id: EntityId
    project_id: EntityId
    consultant_id: EntityId
    date: dt.date
    category: str = Field(min_length=1)
    amount: NonNegativeMoney
    billable: bool = True
    state: ApprovalState = ApprovalState.SUBMITTED
    receipt_url: str | None = None
    dimensions: FinancialDimensions | None = None


class InvoiceStatus(StrEnum):
    """Lifecycle state of an invoice."""

    DRAFT = "draft"
    POSTED = "posted"
    PAID = "paid"
    CANCELLED = "cancelled"


class InvoiceLine(Contract):
    """One line of an invoice."""

    description: str = Field(min_length=1)
    quantity: Decimal
    unit_price: Money
    amount: Money
    task_id: EntityId | None = None
    time_entry_ids: tuple[EntityId, ...] = ()

    @model_validator(mode="after")
    def _amount(self) -> InvoiceLine:
        if self.unit_price.currency != self.amount.currency:
            raise ValueError("unit_price and amount must share one currency")
        if (self.quantity * self.unit_price.amount).quantize(Decimal("0.01")) != (
            self.amount.amount.quantize(Decimal("0.01"))
        ):
            raise ValueError("amount must equal quantity x unit_price")
        return self


class Invoice(Contract):
    """An invoice to a customer for a project."""

    id: EntityId
    customer_id: EntityId
    project_id: EntityId | None = None
    number: str | None = None
    currency: Currency
    issue_date: dt.date
    due_date: dt.date | None = None
    status: InvoiceStatus = InvoiceStatus.DRAFT
    po_number: str | None = None
    lines: tuple[InvoiceLine, ...] = Field(min_length=1)
    dimensions: FinancialDimensions | None = None

    @model_validator(mode="after")
    def _currency(self) -> Invoice:
        for index, line in enumerate(self.lines):
            if line.amount.currency != self.currency:
                raise ValueError(f"lines.{index} is not in the invoice currency")
        return self

    @property
    def total(self) -> Money:
        """Sum of the lines, in the invoice currency."""
        return Money(
            amount=sum((ln.amount.amount for ln in self.lines), Decimal(0)), currency=self.currency
        )


class RevenueEventKind(StrEnum):
    """Why revenue is recognised."""

    TIME_AND_MATERIALS = "time_and_materials"
    MILESTONE_COMPLETED = "milestone_completed"
    PERCENT_COMPLETE = "percent_complete"


class RevenueEvent(Contract):
    """Revenue recognised on a project for a period."""

    id: EntityId
    project_id: EntityId
    kind: RevenueEventKind
    period_start: dt.date
    period_end: dt.date
    amount: Money
    invoice_id: EntityId | None = None
    dimensions: FinancialDimensions | None = None
