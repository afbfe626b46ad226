"""Running a parsed SOQL query over the org's records: bind to the schema, filter, sort, limit.

Comparisons follow SOQL: text compares case-insensitively (ids exactly), ``!=`` and ``NOT IN``
match null values, and every other operator never matches null.

Datetime *filters* compare at whole seconds, while ``ORDER BY`` uses the stored milliseconds.
That is what orgs do (see https://salesforce.stackexchange.com/questions/234824, [3P]): a
filter ``SystemModstamp > 12:00:00.500Z`` skips a record stamped 12:00:00.700. Clients that
poll on ``SystemModstamp`` must therefore filter with ``>=`` on the second and skip what they
have seen; the emulator keeps the quirk so their tests can prove they do.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from interlock.sandbox.salesforce import ids
from interlock.sandbox.salesforce.schema import (
    ID_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    Field,
    SObject,
    sobject,
)
from interlock.sandbox.salesforce.soql import (
    Comparison,
    Condition,
    FieldRef,
    Literal,
    Logical,
    Not,
    Query,
    SoqlError,
    located,
)

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

_LITERAL_KINDS: dict[str, str] = {
    **dict.fromkeys(TEXT_TYPES | ID_TYPES, "string"),
    **dict.fromkeys(NUMBER_TYPES, "number"),
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


@dataclass(frozen=True)
class BoundQuery:
    """A query checked against the schema, ready to run."""

    sobject: SObject
    fields: tuple[Field, ...]
    count: bool
    predicate: Predicate
    order_by: tuple[tuple[Field, bool, bool], ...]
    limit: int | None

    def run(self, records: Iterable[Record]) -> list[Record]:
        """The matching records, sorted and limited (whole records; project with ``project``)."""
        rows = [r for r in records if self.predicate(r)]
        for field, descending, nulls_last in reversed(self.order_by):
            present = [r for r in rows if r.get(field.name) is not None]
            absent = [r for r in rows if r.get(field.name) is None]
            present.sort(key=_sorter(field), reverse=descending)
            rows = present + absent if nulls_last else absent + present
        return rows if self.limit is None else rows[: self.limit]

    def project(self, record: Record) -> Record:
        """The selected fields of ``record``, in the order selected."""
        return {f.name: record.get(f.name) for f in self.fields}


def bind(query: Query) -> BoundQuery:
    """Resolve names against the schema. Raises SoqlError (INVALID_TYPE, INVALID_FIELD...)."""
    target = sobject(query.sobject.name)
    if target is None:
        raise SoqlError(
            "INVALID_TYPE",
            located(
                query.text,
                query.sobject.offset,
                f"sObject type '{query.sobject.name}' is not supported. If you are attempting to "
                "use a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            ),
        )
    fields = tuple(_field(query, target, ref) for ref in query.fields)
    seen: set[str] = set()
    for field in fields:
        if field.name in seen:
            raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {field.name}")
        seen.add(field.name)
    predicate = _predicate(query, target, query.where) if query.where else (lambda r: True)
    order = tuple(
        (_field(query, target, item.field), item.descending, item.nulls_last)
        for item in query.order_by
    )
    return BoundQuery(target, fields, query.count, predicate, order, query.limit)


def _field(query: Query, target: SObject, ref: FieldRef) -> Field:
    field = target.field(ref.name)
    if field is None:
        raise SoqlError(
            "INVALID_FIELD",
            located(
                query.text,
                ref.offset,
                f"No such column '{ref.name}' on entity '{target.name}'. If you are attempting to "
                "use a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
            ),
        )
    return field


def _predicate(query: Query, target: SObject, condition: Condition) -> Predicate:
    if isinstance(condition, Not):
        inner = _predicate(query, target, condition.term)
        return lambda r: not inner(r)
    if isinstance(condition, Logical):
        parts = [_predicate(query, target, term) for term in condition.terms]
        if condition.op == "AND":
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    return _comparison(query, target, condition)


def _comparison(query: Query, target: SObject, comparison: Comparison) -> Predicate:
    field = _field(query, target, comparison.field)
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    wanted = [_literal(query, comparison, field, v) for v in values]
    op = comparison.op
    if op == "LIKE":
        if field.type not in TEXT_TYPES | ID_TYPES or not isinstance(wanted[0], str):
            raise _filter_error(query, comparison, field, "LIKE needs a text field")
        pattern = _like(wanted[0])
        return lambda r: (
            r.get(field.name) is not None and bool(pattern.fullmatch(str(r[field.name])))
        )
    if op in ("IN", "NOT IN"):
        keys = {_filter_key(field, v) for v in wanted if v is not None}
        has_null = any(v is None for v in wanted)

        def member(r: Record) -> bool:
            value = r.get(field.name)
            return has_null if value is None else _filter_key(field, value) in keys

        return member if op == "IN" else (lambda r: not member(r))
    expected = wanted[0]
    if expected is None:
        if op not in ("=", "!="):
            raise _filter_error(query, comparison, field, "null can only be used with = and !=")
        return (
            (lambda r: r.get(field.name) is None)
            if op == "="
            else (lambda r: r.get(field.name) is not None)
        )
    key = _filter_key(field, expected)
    test = _OPERATORS[op]

    def compare(r: Record) -> bool:
        value = r.get(field.name)
        if value is None:
            return op == "!="
        return test(_filter_key(field, value), key)

    return compare


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _literal(query: Query, comparison: Comparison, field: Field, literal: Literal) -> Any:
    if literal.kind == "null":
        return None
    if _LITERAL_KINDS[field.type] != literal.kind:
        quoted = "be enclosed" if _LITERAL_KINDS[field.type] == "string" else "not be enclosed"
        raise _filter_error(
            query,
            comparison,
            field,
            f"value of filter criterion for field '{field.name}' must be of "
            f"type {field.type} and should {quoted} in quotes",
        )
    if field.type in ID_TYPES and comparison.op != "LIKE":
        normal = ids.normalize_id(str(literal.value))
        if normal is None:
            raise _filter_error(query, comparison, field, f"invalid ID field: {literal.value}")
        return normal
    return literal.value


def _filter_error(query: Query, comparison: Comparison, field: Field, message: str) -> SoqlError:
    return SoqlError(
        "INVALID_QUERY_FILTER_OPERATOR", located(query.text, comparison.field.offset, message)
    )


def _filter_key(field: Field, value: Any) -> Any:
    if field.type in TEXT_TYPES:
        return str(value).casefold()
    if field.type in NUMBER_TYPES:
        return Decimal(str(value))
    if field.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if field.type == "datetime":
        stamp = ids.parse_datetime(value) if isinstance(value, str) else value
        return stamp.replace(microsecond=0)  # filters compare whole seconds (module doc)
    return value


def _sorter(field: Field) -> Callable[[Record], Any]:
    def key(record: Record) -> Any:
        value = record[field.name]
        if field.type == "datetime":
            return ids.parse_datetime(value)  # sorting keeps the milliseconds
        return _filter_key(field, value)

    return key


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)
