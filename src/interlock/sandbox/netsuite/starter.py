"""The records a new emulated account starts with.

Currencies, a subsidiary, expense categories and a service item, with ids from "1" in the
order below.
"""

from __future__ import annotations

from typing import Any

CURRENCIES = (
    ("USD", "US Dollar"),
    ("EUR", "Euro"),
    ("GBP", "British Pound"),
    ("CAD", "Canadian Dollar"),
    ("SGD", "Singapore Dollar"),
    ("AUD", "Australian Dollar"),
    ("CHF", "Swiss Franc"),
    ("JPY", "Yen"),
)
SUBSIDIARY = "Halcyon Partners Inc."
EXPENSE_CATEGORIES = ("Travel", "Lodging", "Meals", "Mileage", "Software", "Other")
"""Interlock assumption: a typical services firm's categories, ids "1".."6"."""
SERVICE_ITEM = "Professional Services"
"""The one service item the account starts with (id "1"): invoice and time lines use it."""


def _starter() -> list[tuple[str, dict[str, Any]]]:
    records: list[tuple[str, dict[str, Any]]] = [
        (
            "currency",
            {"name": name, "symbol": code, "isBaseCurrency": code == "USD", "exchangeRate": 1.0},
        )
        for code, name in CURRENCIES
    ]
    records.append(("subsidiary", {"name": SUBSIDIARY, "currency": {"id": "1"}, "country": "US"}))
    records += [("expenseCategory", {"name": name}) for name in EXPENSE_CATEGORIES]
    records.append(("serviceSaleItem", {"itemId": SERVICE_ITEM, "displayName": SERVICE_ITEM}))
    return records


STARTER_RECORDS = _starter()
"""(record type, create body) in creation order."""
