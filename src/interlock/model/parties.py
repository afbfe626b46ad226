"""Master data: who we sell to, who we are, who does the work, and at what rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from interlock.model.base import CONFIDENTIAL, Contract, Currency, EntityId, NonNegativeMoney


class Segment(StrEnum):
    """Customer segment, used for routing and reporting."""

    ENTERPRISE = "enterprise"
    MID_MARKET = "mid_market"
    SMALL_BUSINESS = "small_business"
    PUBLIC_SECTOR = "public_sector"


class Address(Contract):
    """A postal address."""

    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = Field(None, min_length=2, max_length=2, description="ISO 3166-1 alpha-2")


class Customer(Contract):
    """A client of the firm. Owned by the CRM for name and segment, by the ERP for credit."""

    id: EntityId
    name: str = Field(min_length=1, max_length=255)
    segment: Segment | None = None
    billing_address: Address | None = None
    currency: Currency | None = Field(None, description="Default billing currency.")
    tax_id: str | None = None


class LegalEntity(Contract):
    """A company of the firm that contracts and invoices (subsidiary in NetSuite terms)."""

    id: EntityId
    name: str = Field(min_length=1)
    country: str = Field(min_length=2, max_length=2)
    functional_currency: Currency


class Practice(Contract):
    """A line of service (e.g. Data & Analytics) that owns delivery and margin."""

    id: EntityId
    name: str = Field(min_length=1)
    region: str | None = None


class Consultant(Contract):
    """A person who delivers work. ``cost_rate`` is confidential: finance scopes only."""

    id: EntityId
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    role: str = Field(min_length=1, examples=["Senior Consultant"])
    skills: tuple[str, ...] = ()
    region: str | None = None
    practice_id: EntityId | None = None
    cost_rate: NonNegativeMoney | None = Field(
        None, description="Hourly cost to the firm.", json_schema_extra=CONFIDENTIAL
    )
    capacity_hours_per_week: Decimal = Field(Decimal(40), gt=0, le=80)
    active: bool = True


class RateCardLine(Contract):
    """The hourly bill rate for one role."""

    role: str = Field(min_length=1)
    rate: NonNegativeMoney


class RateCard(Contract):
    """Bill rates by role, valid for a period, optionally specific to a customer."""

    id: EntityId
    name: str = Field(min_length=1)
    currency: Currency
    valid_from: dt.date
    valid_to: dt.date | None = None
    customer_id: EntityId | None = None
    lines: tuple[RateCardLine, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RateCard:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        for line in self.lines:
            if line.rate.currency != self.currency:
                raise ValueError(f"line for {line.role!r} is not in the card's currency")
        return self
