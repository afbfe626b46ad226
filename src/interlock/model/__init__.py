"""Canonical data contracts, version 1.

Every system maps to and from these models. ``CONTRACTS`` lists them with their version; it
drives the JSON Schema export and the compatibility check (``interlock contracts``).
"""

from __future__ import annotations

from pydantic import BaseModel

from interlock.model.base import (
    ISO_4217,
    Contract,
    Currency,
    EntityId,
    Money,
    NonNegativeMoney,
    canonical_id,
    problems_from,
    validate_contract,
)
from interlock.model.deals import (
    BillingType,
    ContractTerms,
    Opportunity,
    OpportunityStage,
    SowLine,
)
from interlock.model.delivery import (
    Assignment,
    Milestone,
    Project,
    ProjectStatus,
    StaffingDemand,
    Task,
)
from interlock.model.finance import (
    ApprovalState,
    Expense,
    FinancialDimensions,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    RevenueEvent,
    RevenueEventKind,
    TimeEntry,
)
from interlock.model.parties import (
    Address,
    Consultant,
    Customer,
    LegalEntity,
    Practice,
    RateCard,
    RateCardLine,
    Segment,
)

CONTRACT_VERSION = 1

CONTRACTS: dict[str, type[BaseModel]] = {
    "customer": Customer,
    "legal_entity": LegalEntity,
    "practice": Practice,
    "consultant": Consultant,
    "rate_card": RateCard,
    "opportunity": Opportunity,
    "contract_terms": ContractTerms,
    "project": Project,
    "task": Task,
    "milestone": Milestone,
    "staffing_demand": StaffingDemand,
    "assignment": Assignment,
    "time_entry": TimeEntry,
    "expense": Expense,
    "invoice": Invoice,
    "revenue_event": RevenueEvent,
    "financial_dimensions": FinancialDimensions,
}
"""Canonical contract name → model. Names are stable: they appear in event types."""

__all__ = [
    "CONTRACTS",
    "CONTRACT_VERSION",
    "ISO_4217",
    "Address",
    "ApprovalState",
    "Assignment",
    "BillingType",
    "Consultant",
    "Contract",
    "ContractTerms",
    "Currency",
    "Customer",
    "EntityId",
    "Expense",
    "FinancialDimensions",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "LegalEntity",
    "Milestone",
    "Money",
    "NonNegativeMoney",
    "Opportunity",
    "OpportunityStage",
    "Practice",
    "Project",
    "ProjectStatus",
    "RateCard",
    "RateCardLine",
    "RevenueEvent",
    "RevenueEventKind",
    "Segment",
    "SowLine",
    "StaffingDemand",
    "Task",
    "TimeEntry",
    "canonical_id",
    "problems_from",
    "validate_contract",
]
