"""Reading request values the way the API does, collecting validation problems."""

from __future__ import annotations

import datetime as dt
from typing import Any

from interlock.sandbox.kantata.envelope import validation

Problems = list[dict[str, str]]


def clean_text(value: Any) -> str | None:
    if value is None:
        return None
    cleaned = str(value).strip()
    return cleaned or None


def iso_date(value: Any, field: str, problems: Problems) -> str | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        problems.append(validation(f"{field} must be a date (YYYY-MM-DD)", field))
        return None


def whole(value: Any, field: str, problems: Problems) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
        problems.append(validation(f"{field} must be a whole number", field))
        return None
    return int(value)


def boolean(value: Any, field: str, problems: Problems) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    problems.append(validation(f"{field} must be true or false", field))
    return False
