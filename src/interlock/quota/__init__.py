"""Quota-aware throttling: one request budget per external system, shared by all flows.

A ``Budget`` enforces a concurrency limit, sliding rate windows (reads, writes, all, daily),
pauses the vendor asks for (429, Retry-After) and quotas its headers report
(``Sforce-Limit-Info``, ``X-RateLimit-*``). Scarce capacity goes to higher ``Priority``
classes first: invoices, then time, then the rest, then master data. A wait longer than
``Limits.max_wait`` raises ``RateLimited`` at once, with ``retry_after`` set to when the
budget refills, so the engine parks the run instead of burning retries::

    budget = LocalBudget("float", Limits(windows=(Window("writes", 100, 60, "writes"),)))
    with budget.acquire(Priority.TIME, write=True):
        ...  # send the request

``VendorHttp`` does this for every request of a connector whose config sets limits.
"""

from interlock.quota.budget import QUOTA_CODE, Budget, Lease
from interlock.quota.headers import Learned, read_limit_headers
from interlock.quota.limits import (
    Limits,
    Priority,
    QuotaSettings,
    Window,
    current_priority,
    prioritized,
    priority_for_kind,
)
from interlock.quota.local import LocalBudget
from interlock.quota.registry import BudgetRegistry, budgets

__all__ = [
    "QUOTA_CODE",
    "Budget",
    "BudgetRegistry",
    "Learned",
    "Lease",
    "Limits",
    "LocalBudget",
    "Priority",
    "QuotaSettings",
    "Window",
    "budgets",
    "current_priority",
    "prioritized",
    "priority_for_kind",
    "read_limit_headers",
]
