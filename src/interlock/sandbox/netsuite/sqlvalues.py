"""How SuiteQL sees stored values.

Rows have lower-case columns; values compare and sort the SQL way (null is unknown, ids
compare as numbers) and are written out as NetSuite writes them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from interlock.sandbox.netsuite.errors import NsError
from interlock.sandbox.netsuite.filters import parse_when
from interlock.sandbox.netsuite.schema import TYPES, Kind

Row = Mapping[str, Any]

_FORMAT = re.compile(r'YYYY|MM|DD|HH24|MI|SS|"[^"]*"|[-/:,. T]')
COMPARISONS: dict[str, Callable[[int], bool]] = {
    "=": lambda c: c == 0,
    "!=": lambda c: c != 0,
    "<>": lambda c: c != 0,
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}
_STRFTIME = {"YYYY": "%Y", "MM": "%m", "DD": "%d", "HH24": "%H", "MI": "%M", "SS": "%S"}


def bad_query(detail: str) -> NsError:
    """The error for a query we cannot run."""
    return NsError(
        400,
        f"Invalid search query. Detailed unprocessed description follows. {detail}",
        "INVALID_PARAMETER",
    )


def strftime_format(oracle: str) -> str:
    """Translate an Oracle date format (the supported subset) into a ``strftime`` one."""
    out, pos = [], 0
    while pos < len(oracle):
        match = _FORMAT.match(oracle, pos)
        if match is None:
            raise bad_query(f"Unsupported date format {oracle!r}.")
        part = match.group()
        out.append(part[1:-1] if part.startswith('"') else _STRFTIME.get(part, part))
        pos = match.end()
    return "".join(out)


def _user_date(value: dt.date) -> str:
    return f"{value.month}/{value.day}/{value.year}"


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return _user_date(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sql_row(table: str, record: Mapping[str, Any]) -> dict[str, Any]:
    fields = TYPES[table].fields
    row: dict[str, Any] = {}
    for name, spec in fields.items():
        value = record.get(name)
        if spec.kind is Kind.BOOLEAN and value is not None:
            value = "T" if value else "F"
        row[name.lower()] = value
    return row


def order_key(column: str) -> Callable[[Row], tuple[int, Any]]:
    return lambda row: _sort_key(row.get(column))


def _sort_key(value: Any) -> tuple[int, Any]:
    # Nulls sort last in ascending order, as in Oracle. Ids sort as numbers.
    if value is None:
        return (1, 0)
    if isinstance(value, str) and value.isdigit():
        return (0, (0, int(value), ""))
    if isinstance(value, str):
        return (0, (1, 0, value))
    if isinstance(value, dt.datetime):
        return (0, value.timestamp())
    if isinstance(value, dt.date):
        return (0, dt.datetime.combine(value, dt.time(), dt.UTC).timestamp())
    return (0, value)


def _promote(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(), dt.UTC)
    return value


def compare(left: Any, right: Any) -> int | None:
    """SQL comparison: None when either side is null, else -1 / 0 / 1."""
    if left is None or right is None:
        return None
    left, right = _promote(left), _promote(right)
    if isinstance(left, dt.datetime) and isinstance(right, str):
        right = _promote(parse_when(right))
    elif isinstance(right, dt.datetime) and isinstance(left, str):
        left = _promote(parse_when(left))
    if isinstance(left, int | float) != isinstance(right, int | float):
        try:
            left, right = float(left), float(right)
        except ValueError:
            raise bad_query(f"Cannot compare {left!r} with {right!r}.") from None
    try:
        return int(left > right) - int(left < right)
    except TypeError:
        raise bad_query(f"Cannot compare {left!r} with {right!r}.") from None
