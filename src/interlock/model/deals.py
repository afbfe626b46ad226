"""What was sold: opportunities and their contract (statement of work)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from interlock.model.base import Contract, Currency, EntityId, Money, NonNegativeMoney


class BillingType(StrEnum):
    """How a SOW line is billed."""

    TIME_AND_MATERIALS = "time_and_materials"
    FIXED_FEE = "fixed_fee"
    MILESTONE = "milestone"


class OpportunityStage(StrEnum):
    """The canonical stages; CRMs map their picklists onto these."""

    PROSPECTING = "prospecting"
    QUALIFICATION = "qualification"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"


class SowLine(Contract):
    """One line of a statement of work: a role, its hours and its rate."""

    id: EntityId
    role: str = Field(min_length=1)
    hours: Decimal = Field(gt=0, le=100_000)
    rate: NonNegativeMoney
    billing_type: BillingType
    description: str | None = None


class ContractTerms(Contract):
    """The contract (SOW) behind a won opportunity. Every field the delivery set-up needs."""

    start_date: dt.date
    end_date: dt.date
    billing_type: BillingType
    currency: Currency
    po_number: str | None = None
    lines: tuple[SowLine, ...] = ()


class Opportunity(Contract):
    """A deal as the CRM sees it.

    Contract terms are optional here because an open deal rarely has them; the mobilise flow
    requires them once the deal is won and names each missing one.
    """

    id: EntityId
    name: str = Field(min_length=1)
    customer_id: EntityId | None = None
    customer_name: str | None = None
    stage: OpportunityStage
    close_date: dt.date | None = None
    amount: Money | None = None
    practice: str | None = None
    owner_email: str | None = None
    won_at: dt.datetime | None = Field(None, description="When the deal reached Closed Won.")
    terms: ContractTerms | None = None
    modified_at: dt.datetime = Field(description="Source system's last-modified stamp.")
