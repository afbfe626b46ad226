"""Reading records back: one by id, changes since a cursor, and their canonical form.

Customers and projects travel as SuiteQL rows (with the related values their mapping needs);
the other kinds as REST records read with their sublist lines (see ``changes``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel

from interlock.connectors.base import ChangePage, NativeChange
from interlock.connectors.netsuite import changes
from interlock.connectors.netsuite.concurrency import run_each
from interlock.connectors.netsuite.mapping import customer_from_native, project_from_native
from interlock.connectors.netsuite.resources import (
    assignment_from_native,
    consultant_from_native,
)
from interlock.connectors.netsuite.transactions import (
    expense_from_native,
    invoice_from_native,
    time_entry_from_native,
)
from interlock.connectors.netsuite.wire import ref_id
from interlock.connectors.netsuite.writes import RECORD_TYPES
from interlock.exceptions import ConnectorError, MalformedResponse, RecordNotFound

MAX_PAGE = 1000
READ_KINDS = frozenset(RECORD_TYPES) - {"task"}
APPROVED_EXPENSE_STATUSES = frozenset({"F", "G", "I"})


class Source(Protocol):
    """What reading needs from the connector."""

    system: str

    @property
    def width(self) -> int:
        """Requests to run at once."""

    def suiteql(self, query: str, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], bool]:
        """One page of rows and whether more follow."""

    def suiteql_all(self, query: str) -> list[dict[str, Any]]:
        """Every row."""

    def read_record(self, record_type: str, native_id: str) -> dict[str, Any]:
        """A REST record with its sublist lines."""

    def currency_codes(self) -> dict[str, str]:
        """Currency internal id → ISO code."""


def _check_kind(kind: str) -> None:
    if kind not in READ_KINDS:
        raise NotImplementedError(f"netsuite does not read {kind}")


def get(source: Source, kind: str, native_id: str) -> NativeChange:
    """The current state of one record as a change. Raises RecordNotFound."""
    _check_kind(kind)
    if not native_id.isdigit():
        raise RecordNotFound(source.system, f"{kind} {native_id!r}: not a NetSuite internal id")
    if kind not in changes.ROW_KINDS:
        return changes.to_change(kind, source.read_record(RECORD_TYPES[kind], native_id))
    table = changes.TABLES[kind]
    # The id is checked to be digits above: nothing else reaches the query text.
    query = f"SELECT {changes.COLUMNS[kind]} FROM {table} WHERE id = {native_id}"  # noqa: S608
    rows = source.suiteql_all(query)
    if not rows:
        raise RecordNotFound(source.system, f"{table} {native_id} does not exist")
    return _row_changes(source, kind, rows)[0]


def read_changes(source: Source, kind: str, cursor: str | None, limit: int) -> ChangePage:
    """Changes of ``kind`` after ``cursor``, oldest first."""
    _check_kind(kind)
    query = changes.change_query(kind, cursor)
    rows, more = source.suiteql(query, limit=max(1, min(limit, MAX_PAGE)), offset=0)
    if kind in changes.ROW_KINDS:
        found = _row_changes(source, kind, rows)
    else:
        found = _record_changes(source, kind, rows)
    try:
        cursor_after = changes.next_cursor(cursor, rows, more)
    except (KeyError, ValueError) as exc:
        raise MalformedResponse(source.system, f"unreadable {kind} change row") from exc
    return ChangePage(found, cursor_after, more=more)


def _row_changes(source: Source, kind: str, rows: list[dict[str, Any]]) -> list[NativeChange]:
    try:
        _add_related(source, kind, rows)
        return [changes.to_change(kind, row) for row in rows]
    except (KeyError, ValueError) as exc:
        raise MalformedResponse(source.system, f"unreadable {kind} change row") from exc


def _record_changes(source: Source, kind: str, rows: list[dict[str, Any]]) -> list[NativeChange]:
    record_type = RECORD_TYPES[kind]

    def read(row: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return source.read_record(record_type, str(row["id"]))
        except RecordNotFound:  # deleted since the query ran
            return None

    outcomes = run_each(read, rows, workers=source.width)
    out = []
    for outcome in outcomes:
        if isinstance(outcome, ConnectorError):
            raise outcome
        if outcome is not None:
            try:
                out.append(changes.to_change(kind, outcome))
            except (KeyError, ValueError) as exc:
                raise MalformedResponse(source.system, f"unreadable {record_type}") from exc
    return out


def _add_related(source: Source, kind: str, rows: list[dict[str, Any]]) -> None:
    symbols = source.currency_codes()
    for row in rows:
        if row.get("currency"):
            row["currency_symbol"] = symbols.get(str(row["currency"]))
    if kind != "project":
        return
    parents = sorted({str(r["parent"]) for r in rows if str(r.get("parent", "")).isdigit()})
    if not parents:
        return
    # The ids are checked to be digits above: nothing else reaches the query text.
    query = f"SELECT id, externalid FROM customer WHERE id IN ({', '.join(parents)})"  # noqa: S608
    external = {str(r["id"]): r.get("externalid") for r in source.suiteql_all(query)}
    for row in rows:
        row["parent_externalid"] = external.get(str(row.get("parent")))


def classify(change: NativeChange) -> str:
    """``approved`` for approved time bills and expense reports; else changed / deleted."""
    if change.deleted:
        return "deleted"
    payload = change.payload
    if change.kind == "time_entry" and ref_id(payload.get("approvalStatus")) == "3":
        return "approved"
    if change.kind == "expense" and ref_id(payload.get("status")) in APPROVED_EXPENSE_STATUSES:
        return "approved"
    return "changed"


_MAPPERS: dict[str, Callable[[dict[str, Any], str], BaseModel]] = {
    "customer": customer_from_native,
    "project": project_from_native,
    "consultant": consultant_from_native,
    "assignment": assignment_from_native,
    "time_entry": time_entry_from_native,
}


def to_canonical(source: Source, change: NativeChange) -> BaseModel:
    """The canonical record of a change. Raises ContractViolation."""
    if change.kind in _MAPPERS:
        return _MAPPERS[change.kind](change.payload, source.system)
    if change.kind == "expense":
        return expense_from_native(change.payload, source.system, source.currency_codes())
    if change.kind == "invoice":
        return invoice_from_native(change.payload, source.system, source.currency_codes())
    raise NotImplementedError(f"netsuite does not map {change.kind}")
