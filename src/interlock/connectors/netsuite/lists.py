"""The account's currencies and expense categories, read once with SuiteQL and cached.

Canonical records name a currency by its ISO code and an expense category by its name;
NetSuite references both by internal id. A code or name we do not know is looked up again
once (it may have been set up since), then refused: someone has to set it up in NetSuite.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from interlock.exceptions import RecordRejected, Team

Query = Callable[[str], list[dict[str, Any]]]


class AccountLists:
    """Currency and expense-category ids of one account, safe to share between threads."""

    def __init__(self, system: str, query: Query) -> None:
        self._system = system
        self._query = query
        self._lock = threading.Lock()
        self._currencies: dict[str, str] | None = None
        self._categories: dict[str, str] | None = None

    def currencies(self, *, reload: bool = False) -> dict[str, str]:
        """ISO code → internal id."""
        with self._lock:
            if self._currencies is None or reload:
                rows = self._query("SELECT id, symbol FROM currency ORDER BY id")
                self._currencies = {str(r["symbol"]): str(r["id"]) for r in rows if "symbol" in r}
            return dict(self._currencies)

    def currency_codes(self) -> dict[str, str]:
        """Internal id → ISO code."""
        return {native: code for code, native in self.currencies().items()}

    def currency_id(self, code: str) -> str:
        """The internal id of the currency with ISO code ``code``; RecordRejected if none."""
        found = self.currencies().get(code) or self.currencies(reload=True).get(code)
        if found is None:
            raise RecordRejected(
                self._system, f"currency {code} is not set up in NetSuite", fields=("currency",)
            )
        return found

    def category_id(self, name: str) -> str:
        """The internal id of the expense category called ``name`` (any letter case)."""
        found = self._categories_by_name().get(name.lower())
        if found is None:
            found = self._categories_by_name(reload=True).get(name.lower())
        if found is None:
            error = RecordRejected(
                self._system,
                f"expense category {name!r} is not set up in NetSuite",
                fields=("category",),
            )
            error.team = Team.FINANCE
            raise error
        return found

    def _categories_by_name(self, *, reload: bool = False) -> dict[str, str]:
        with self._lock:
            if self._categories is None or reload:
                rows = self._query("SELECT id, name FROM expensecategory ORDER BY id")
                self._categories = {str(r["name"]).lower(): str(r["id"]) for r in rows}
            return self._categories
