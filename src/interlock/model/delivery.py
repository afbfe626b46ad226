"""Delivery: projects, their tasks and milestones, staffing demand and assignments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from interlock.model.base import Contract, EntityId, Money, NonNegativeMoney
from interlock.model.deals import BillingType


class ProjectStatus(StrEnum):
    """Lifecycle state of a project."""

    SETTING_UP = "setting_up"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    CLOSED = "closed"


class Task(Contract):
    """A unit of delivery inside a project, usually one per SOW line."""

    id: EntityId
    project_id: EntityId
    name: str = Field(min_length=1)
    role: str | None = None
    budget_hours: Decimal | None = Field(None, ge=0)
    rate: NonNegativeMoney | None = None
    billing_type: BillingType


class Milestone(Contract):
    """A billable or reporting milestone of a project."""

    id: EntityId
    project_id: EntityId
    name: str = Field(min_length=1)
    due_date: dt.date
    amount: NonNegativeMoney | None = None
    completed_on: dt.date | None = None


class Project(Contract):
    """A delivery project, created from a won opportunity."""

    id: EntityId
    name: str = Field(min_length=1)
    customer_id: EntityId
    opportunity_id: EntityId | None = None
    status: ProjectStatus = ProjectStatus.SETTING_UP
    start_date: dt.date
    end_date: dt.date
    billing_type: BillingType
    budget: NonNegativeMoney | None = None
    practice: str | None = None
    po_number: str | None = None
    tasks: tuple[Task, ...] = ()
    milestones: tuple[Milestone, ...] = ()

    @model_validator(mode="after")
    def _dates(self) -> Project:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self


class StaffingDemand(Contract):
    """Hours of a role needed on a project between two dates, before anyone is assigned."""

    id: EntityId
    project_id: EntityId
    task_id: EntityId | None = None
    role: str = Field(min_length=1)
    hours: Decimal = Field(gt=0)
    start_date: dt.date
    end_date: dt.date
    skills: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _dates(self) -> StaffingDemand:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self


class Assignment(Contract):
    """A consultant booked on a project (or task) for hours per day between two dates."""

    id: EntityId
    project_id: EntityId
    consultant_id: EntityId
    task_id: EntityId | None = None
    demand_id: EntityId | None = None
    start_date: dt.date
    end_date: dt.date
    hours_per_day: Decimal = Field(gt=0, le=24)
    cost_assumption: Money | None = None

    @model_validator(mode="after")
    def _dates(self) -> Assignment:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self
