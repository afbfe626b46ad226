"""How SuiteQL sees stored records: its tables, their rows and values.

Tables are named after record types in lower case (``timebill``, ``projecttask``), except
that expense reports and invoices live in ``transaction`` with a ``type`` column
(``ExpRept``, ``CustInvc``), as in NetSuite. Rows have lower-case columns and body fields
only (sublists are not columns); durations read as decimal hours (Interlock assumption).
Values compare and sort the SQL way (null is unknown, ids compare as numbers) and are written
out as NetSuite writes them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from interlock.sandbox.netsuite.errors import NsError
from interlock.sandbox.netsuite.filters import parse_when
from interlock.sandbox.netsuite.records import TRANSACTION_TYPES, TYPES
from interlock.sandbox.netsuite.schema import Field, Kind

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


def parse_timestamp(text: str, oracle_format: str) -> dt.datetime:
    """``TO_TIMESTAMP(text, format)`` as a UTC datetime; NsError 400 when it does not match."""
    try:
        return dt.datetime.strptime(text, strftime_format(oracle_format)).replace(tzinfo=dt.UTC)
    except ValueError:
        raise bad_query(f"{text!r} does not match the format {oracle_format!r}.") from None


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


@dataclass(frozen=True)
class Table:
    """A SuiteQL table: the record types it shows and its columns (lower-case)."""

    name: str
    sources: tuple[str, ...]
    columns: Mapping[str, Field]

    def rows(self, records: Callable[[str], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Every row of the table, by id, from ``records(type)`` (stored records)."""
        rows = [sql_row(t, r) for t in self.sources for r in records(t)]
        return sorted(rows, key=lambda row: int(row["id"])) if len(self.sources) > 1 else rows


def _columns(type_name: str) -> dict[str, Field]:
    fields = TYPES[type_name].fields.items()
    return {n.lower(): f for n, f in fields if f.kind is not Kind.SUBLIST}


def _tables() -> dict[str, Table]:
    tables = {
        name.lower(): Table(name.lower(), (name,), _columns(name))
        for name in TYPES
        if name not in TRANSACTION_TYPES
    }
    columns: dict[str, Field] = {"type": Field(Kind.TEXT, "Type")}
    for name in TRANSACTION_TYPES:
        columns.update(_columns(name))
    tables["transaction"] = Table("transaction", tuple(TRANSACTION_TYPES), columns)
    return tables


TABLES = _tables()


def sql_row(type_name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record as a SuiteQL row (before the select list picks its columns)."""
    row: dict[str, Any] = {}
    for name, spec in TYPES[type_name].fields.items():
        value = record.get(name)
        if spec.kind is Kind.SUBLIST:
            continue
        if spec.kind is Kind.BOOLEAN and value is not None:
            value = "T" if value else "F"
        if spec.kind is Kind.DURATION and value is not None:
            value = value / 60
        row[name.lower()] = value
    if type_name in TRANSACTION_TYPES:
        row["type"] = TRANSACTION_TYPES[type_name]
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
