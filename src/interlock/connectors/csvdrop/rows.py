"""The approved-time CSV format and its rules: pure functions from file bytes to records.

Every problem names the line (1 is the header), the column and the rule, and keeps the raw
row, so a bad row can be parked in the errors file and nothing is lost.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

COLUMNS = (
    "entry_id",
    "consultant_email",
    "project_code",
    "task_code",
    "date",
    "hours",
    "billable",
    "description",
    "approved_by",
    "approved_at",
)
OPTIONAL = frozenset({"task_code", "description"})
REQUIRED = tuple(c for c in COLUMNS if c not in OPTIONAL)
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
FUTURE_TOLERANCE = dt.timedelta(days=1)
Fail = Callable[[str, str, str], None]
"""Records a broken rule: (column, rule code, message)."""
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class RowError:
    """One broken rule: ``line`` in the file (1 is the header), ``column``, ``rule`` code."""

    line: int
    column: str
    rule: str
    message: str
    raw: dict[str, str] | list[str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The entry written to the errors file."""
        return {
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
            "raw": self.raw,
        }


@dataclass(frozen=True)
class Format:
    """How numbers and dates are written, and what day it is (for the future-date rule)."""

    date_format: str = "%Y-%m-%d"
    decimal_separator: str = "."
    delimiter: str = ","
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())


@dataclass(frozen=True)
class ParsedFile:
    """Valid records (line, record) in file order, the row errors, and a whole-file error."""

    records: list[tuple[int, dict[str, Any]]]
    errors: list[RowError]
    file_error: RowError | None = None


def parse_file(data: bytes, encoding: str, fmt: Format) -> ParsedFile:
    """Parse a whole file. A bad header or encoding fails the file; bad rows fail alone."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return _failed(line, "(file)", "encoding", f"not {encoding} text: {exc.reason}")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            return _failed(1, "(header)", "header", f"no header row; expected {', '.join(COLUMNS)}")
        names = [h.strip().lower() for h in header]
        missing = [c for c in REQUIRED if c not in names]
        repeated = sorted({n for n in names if n and names.count(n) > 1})
        if missing or repeated:
            parts = [f"missing columns: {', '.join(missing)}"] if missing else []
            parts += [f"repeated columns: {', '.join(repeated)}"] if repeated else []
            if len(names) == 1:
                parts.append(f"is the delimiter {fmt.delimiter!r} right?")
            return _failed(1, ", ".join(missing + repeated), "header", "; ".join(parts), header)
        return _rows(reader, names, fmt)
    except csv.Error as exc:
        return _failed(reader.line_num, "(file)", "csv", f"not a readable CSV file: {exc}")


def _failed(
    line: int, column: str, rule: str, message: str, raw: list[str] | None = None
) -> ParsedFile:
    return ParsedFile([], [], RowError(line, column, rule, message, raw or []))


def _rows(reader: Any, names: list[str], fmt: Format) -> ParsedFile:
    records: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    previous = reader.line_num
    for values in reader:
        line, previous = previous + 1, reader.line_num
        if not any(v.strip() for v in values):
            continue  # blank line
        if len(values) != len(names):
            rule = f"has {len(values)} fields, the header has {len(names)}"
            errors.append(RowError(line, "(row)", "columns", rule, list(values)))
            continue
        row = {n: v for n, v in zip(names, values, strict=True) if n}
        record, problems = parse_row(row, line, fmt)
        if record is not None:
            seen = first_line.setdefault(record["entry_id"], line)
            if seen != line:
                message = f"entry_id {record['entry_id']} appears again (first on line {seen})"
                problems = [RowError(line, "entry_id", "unique", message, row)]
            else:
                records.append((line, record))
        errors += problems
    return ParsedFile(records, errors)


def parse_row(
    row: dict[str, str], line: int, fmt: Format
) -> tuple[dict[str, Any] | None, list[RowError]]:
    """Check one row; return its normalised record, or None and every broken rule."""
    problems: list[RowError] = []

    def fail(column: str, rule: str, message: str) -> None:
        problems.append(RowError(line, column, rule, message, row))

    value = {c: row.get(c, "").strip() for c in COLUMNS}
    for column in REQUIRED:
        if not value[column]:
            fail(column, "required", f"{column} is required")
    if len(value["entry_id"]) > 64:
        fail("entry_id", "length", "entry_id is longer than 64 characters")
    if value["consultant_email"] and not _EMAIL.match(value["consultant_email"]):
        fail("consultant_email", "email", f"not an email address: {value['consultant_email']!r}")
    day = _date(value["date"], fmt, fail) if value["date"] else None
    hours = _hours(value["hours"], fmt, fail) if value["hours"] else None
    billable = BOOLEANS.get(value["billable"].lower())
    if value["billable"] and billable is None:
        fail(
            "billable",
            "boolean",
            f"must be one of {', '.join(BOOLEANS)}, got {value['billable']!r}",
        )
    approved_at = _instant(value["approved_at"], fail) if value["approved_at"] else None
    if problems:
        return None, problems
    if day is None or hours is None or approved_at is None:  # every rule passed
        raise AssertionError
    return {
        "entry_id": value["entry_id"],
        "consultant_email": value["consultant_email"].lower(),
        "project_code": value["project_code"],
        "task_code": value["task_code"] or None,
        "date": day.isoformat(),
        "hours": format(hours.normalize(), "f"),
        "billable": billable,
        "description": value["description"] or None,
        "approved_by": value["approved_by"],
        "approved_at": approved_at.isoformat(),
    }, []


def _date(text: str, fmt: Format, fail: Fail) -> dt.date | None:
    try:
        day = dt.datetime.strptime(text, fmt.date_format).date()
    except ValueError:
        fail("date", "date", f"not a date in the format {fmt.date_format}: {text!r}")
        return None
    if day > fmt.today + FUTURE_TOLERANCE:
        fail("date", "future", f"{day.isoformat()} is more than a day in the future")
        return None
    return day


def _hours(text: str, fmt: Format, fail: Fail) -> Decimal | None:
    other = "," if fmt.decimal_separator == "." else "."
    try:
        if other in text:
            raise InvalidOperation
        hours = Decimal(text.replace(fmt.decimal_separator, "."))
        if not hours.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        decimal = fmt.decimal_separator
        fail("hours", "number", f"not a number with decimal separator {decimal!r}: {text!r}")
        return None
    if not Decimal(0) < hours <= Decimal(24):
        fail("hours", "range", f"must be more than 0 and at most 24, got {text}")
        return None
    return hours


def _instant(text: str, fail: Fail) -> dt.datetime | None:
    try:
        instant = dt.datetime.fromisoformat(text)
    except ValueError:
        fail("approved_at", "datetime", f"not an ISO 8601 date and time: {text!r}")
        return None
    # The legacy PSA writes local wall-clock time without an offset; it is read as UTC.
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def version_of(record: dict[str, Any]) -> str:
    """A hash of the record's content: the same entry exported twice has the same version."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
