"""One budget per external system for the whole process, whoever builds the connector."""

from __future__ import annotations

import threading
from collections.abc import Callable

import sqlalchemy as sa

from interlock.quota.budget import Budget
from interlock.quota.limits import Limits
from interlock.quota.local import LocalBudget

BudgetFactory = Callable[[str, Limits], Budget]


class BudgetRegistry:
    """Hands every connector of a system the same budget.

    Budgets are keyed by system name and API root, so two sandboxes on different ports get
    two budgets. The backend is in-process until ``use_database`` makes new budgets shared
    across processes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, str], Budget] = {}
        self._registered: dict[str, Budget] = {}
        self._factory: BudgetFactory = LocalBudget

    def use(self, factory: BudgetFactory) -> None:
        """Build budgets with ``factory`` from now on (existing ones are kept)."""
        with self._lock:
            self._factory = factory

    def use_database(self, engine: sa.Engine) -> None:
        """Share new budgets between processes through this database engine."""
        from interlock.quota.shared import SharedBudget

        self.use(lambda system, limits: SharedBudget(system, limits, engine))

    def register(self, budget: Budget) -> Budget:
        """Make ``budget`` the one for its system, whatever the connector configs say.

        Every ``VendorHttp`` of that system built afterwards uses it, with or without limits
        of its own (a hub registers its shared budgets this way; benches their scaled ones).
        """
        with self._lock:
            self._registered[budget.system] = budget
        return budget

    def registered(self, system: str) -> Budget | None:
        """The budget registered for ``system``, if any."""
        with self._lock:
            return self._registered.get(system)

    def unregister(self, system: str) -> None:
        """Forget the budget registered for ``system``."""
        with self._lock:
            self._registered.pop(system, None)

    def for_system(self, system: str, limits: Limits, endpoint: str = "") -> Budget:
        """The budget of ``system`` at ``endpoint``; rebuilt when its limits changed."""
        with self._lock:
            registered = self._registered.get(system)
            if registered is not None:
                return registered
            key = (system, endpoint)
            budget = self._budgets.get(key)
            if budget is None or budget.limits != limits:
                budget = self._budgets[key] = self._factory(system, limits)
            return budget

    def clear(self) -> None:
        """Forget every budget (tests)."""
        with self._lock:
            self._budgets.clear()
            self._registered.clear()


budgets = BudgetRegistry()
"""The process-wide registry ``VendorHttp`` takes budgets from."""
