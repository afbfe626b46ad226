"""List queries: resource filters, ``modified_since``, ``sort`` and ``fields`` [3P FL-3P-CLIENT].

``modified_since`` takes a date (``YYYY-MM-DD``, the documented form) or a UTC date-time
(``YYYY-MM-DD HH:MM:SS`` or ISO 8601; [UNVERIFIED]) and keeps records modified at or after
it. ``start_date``/``end_date`` on tasks and time off keep the ones overlapping the range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from interlock.sandbox.float_.wire import bad_request

Record = dict[str, Any]

EXACT: dict[str, tuple[str, ...]] = {
    "people": ("active", "department_id", "employee_type"),
    "projects": ("active", "client_id", "status", "non_billable"),
    "tasks": ("project_id", "status", "billable", "repeat_state"),
    "timeoffs": ("timeoff_type_id", "status"),
    "clients": (),
    "departments": ("parent_id",),
    "timeoff-types": ("active",),
}


def since(value: str) -> str:
    """A ``modified_since`` value as a comparable ``YYYY-MM-DD HH:MM:SS`` UTC stamp."""
    text = value.strip()
    try:
        if len(text) == 10:
            return f"{dt.date.fromisoformat(text).isoformat()} 00:00:00"
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(
            "modified_since must be YYYY-MM-DD or a date-time (YYYY-MM-DD HH:MM:SS, UTC)"
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def _date(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise bad_request(f"{name} must be YYYY-MM-DD") from None


def _matches(record: Record, table: str, query: Mapping[str, str]) -> bool:
    for name in EXACT[table]:
        if name in query and str(record.get(name)) != query[name]:
            return False
    if "people_id" in query and table in ("tasks", "timeoffs"):
        people = [record.get("people_id"), *(record.get("people_ids") or [])]
        if query["people_id"] not in {str(p) for p in people if p is not None}:
            return False
    return True


def select(rows: Iterable[Record], table: str, query: Mapping[str, str]) -> list[Record]:
    """The records a list request answers, sorted and trimmed to ``fields``, before paging."""
    found = [r for r in rows if _matches(r, table, query)]
    if query.get("modified_since"):
        stamp = since(query["modified_since"])
        found = [r for r in found if str(r.get("modified") or "") >= stamp]
    if table in ("tasks", "timeoffs"):
        start, end = _date(query, "start_date"), _date(query, "end_date")
        if start is not None:
            found = [r for r in found if r["end_date"] >= start]
        if end is not None:
            found = [r for r in found if r["start_date"] <= end]
    for key in reversed([k.strip() for k in query.get("sort", "").split(",") if k.strip()]):
        name = key.lstrip("-")
        if found and name in found[0]:
            found.sort(key=lambda r: _order(r.get(name)), reverse=key.startswith("-"))
    wanted = [f.strip() for f in query.get("fields", "").split(",") if f.strip()]
    if wanted:
        found = [{k: r[k] for k in wanted if k in r} for r in found]
    return found


def _order(value: Any) -> tuple[bool, str, float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (value is None, "", float(value))
    return (value is None, "" if value is None else str(value), 0.0)
