"""The ``q=`` filter of record collections: ``field OPERATOR value`` joined by AND / OR.

Grammar (operators UPPER_CASE, values quoted with ``"`` or bare, lists in brackets)::

    expr   := term (OR term)*
    term   := factor (AND factor)*
    factor := "(" expr ")" | field OPERATOR [value | "[" value ("," value)* "]"]

Text comparisons ignore case, as NetSuite searches do. A date-only value compared with a
timestamp field compares the field's date (UTC).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from interlock.sandbox.netsuite.errors import NsError
from interlock.sandbox.netsuite.schema import Kind, RecordType, parse_duration

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([()\[\],])|([^\s()\[\],"]+))')
_NO_VALUE = {"EMPTY", "EMPTY_NOT"}
_BASE_OPS = {
    "IS",
    "ANY_OF",
    "START_WITH",
    "CONTAIN",
    "END_WITH",
    "EQUAL",
    "GREATER",
    "GREATER_OR_EQUAL",
    "LESS",
    "LESS_OR_EQUAL",
    "BETWEEN",
    "WITHIN",
    "AFTER",
    "BEFORE",
    "ON",
    "ON_OR_AFTER",
    "ON_OR_BEFORE",
    "EMPTY",
}
_OPS = _BASE_OPS | {f"{op}_NOT" for op in _BASE_OPS} | {"ENDWITH"}
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
)


def bad_query(detail: str) -> NsError:
    """The error for a ``q`` parameter we cannot parse."""
    return NsError(400, f"Invalid search query: {detail}", "INVALID_PARAMETER", query_param="q")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise bad_query(f"cannot read {text[pos:]!r}")
        quoted, punct, word = match.groups()
        if quoted is not None:
            out.append(("str", re.sub(r"\\(.)", r"\1", quoted)))
        elif punct is not None:
            out.append(("punct", punct))
        else:
            out.append(("word", word))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, rtype: RecordType) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.rtype = rtype

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise bad_query("unexpected end of query")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise bad_query(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return predicate

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.peek() == ("word", "OR"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.peek() == ("word", "AND"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def factor(self) -> Predicate:
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.expr()
            if self.take() != ("punct", ")"):
                raise bad_query("missing ')'")
            return inner
        kind, name = self.take()
        found = self.rtype.lookup(name) if kind == "word" else None
        if found is None or found[1].kind is Kind.SUBLIST:
            raise bad_query(f"unknown body field {name!r} on {self.rtype.name}")
        field, spec = found
        _, op = self.take()
        if op not in _OPS:
            raise bad_query(f"unknown operator {op!r}")
        values = [] if op in _NO_VALUE else self.values()
        return _condition(field, spec.kind, op, [_convert(spec.kind, v) for v in values])

    def values(self) -> list[str]:
        if self.peek() != ("punct", "["):
            kind, value = self.take()
            if kind == "punct":
                raise bad_query(f"expected a value, got {value!r}")
            return [value]
        self.take()
        out = []
        while True:
            kind, value = self.take()
            if kind == "punct":
                raise bad_query(f"expected a value, got {value!r}")
            out.append(value)
            closing = self.take()
            if closing == ("punct", "]"):
                return out
            if closing != ("punct", ","):
                raise bad_query("expected ',' or ']'")


def _convert(kind: Kind, raw: str) -> Any:
    if kind is Kind.DURATION:
        minutes = parse_duration(raw)
        if minutes is None:
            raise bad_query(f"{raw!r} is not a duration (H:MM or decimal hours)")
        return minutes
    if kind is Kind.NUMBER:
        try:
            return float(raw)
        except ValueError:
            raise bad_query(f"{raw!r} is not a number") from None
    if kind is Kind.BOOLEAN:
        if raw.lower() not in ("true", "false"):
            raise bad_query(f"{raw!r} is not true or false")
        return raw.lower() == "true"
    if kind in (Kind.DATE, Kind.DATETIME):
        return parse_when(raw)
    return raw


def parse_when(raw: str) -> dt.date | dt.datetime:
    """A date or a UTC timestamp from one of the accepted literal formats."""
    for fmt in _DATETIME_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise bad_query(f"{raw!r} is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)")


def _comparable(kind: Kind, stored: Any, wanted: Any) -> tuple[Any, Any]:
    if kind is Kind.DATETIME and not isinstance(wanted, dt.datetime):
        return stored.date(), wanted
    if kind is Kind.DATE and isinstance(wanted, dt.datetime):
        return stored, wanted.date()
    if isinstance(stored, str) and isinstance(wanted, str):
        return stored.lower(), wanted.lower()
    if kind is Kind.NUMBER or (isinstance(stored, str) and isinstance(wanted, float)):
        try:
            return float(stored), wanted
        except ValueError:
            return stored, str(wanted)
    return stored, wanted


_TESTS: dict[str, Callable[[Any, list[Any]], bool]] = {
    "IS": lambda s, w: s == w[0],
    "EQUAL": lambda s, w: s == w[0],
    "ON": lambda s, w: s == w[0],
    "ANY_OF": lambda s, w: s in w,
    "START_WITH": lambda s, w: str(s).startswith(str(w[0])),
    "CONTAIN": lambda s, w: str(w[0]) in str(s),
    "END_WITH": lambda s, w: str(s).endswith(str(w[0])),
    "GREATER": lambda s, w: s > w[0],
    "AFTER": lambda s, w: s > w[0],
    "GREATER_OR_EQUAL": lambda s, w: s >= w[0],
    "ON_OR_AFTER": lambda s, w: s >= w[0],
    "LESS": lambda s, w: s < w[0],
    "BEFORE": lambda s, w: s < w[0],
    "LESS_OR_EQUAL": lambda s, w: s <= w[0],
    "ON_OR_BEFORE": lambda s, w: s <= w[0],
    "BETWEEN": lambda s, w: w[0] <= s <= w[1],
    "WITHIN": lambda s, w: w[0] <= s <= w[1],
}


def _condition(field: str, kind: Kind, op: str, wanted: list[Any]) -> Predicate:
    negate = op.endswith("_NOT")
    base = "END_WITH" if op == "ENDWITH" else op.removesuffix("_NOT")
    if base == "EMPTY":
        return lambda r: (r.get(field) in (None, "")) != negate
    if base in ("BETWEEN", "WITHIN") and len(wanted) != 2:
        raise bad_query(f"{op} takes two values")
    if not wanted:
        raise bad_query(f"{op} needs a value")
    test = _TESTS[base]

    def predicate(record: Mapping[str, Any]) -> bool:
        stored = record.get(field)
        if stored is None:
            return negate
        pairs = [_comparable(kind, stored, w) for w in wanted]
        try:
            hit = test(pairs[0][0], [p[1] for p in pairs])
        except TypeError:
            hit = False
        return hit != negate

    return predicate


def parse_filter(text: str, rtype: RecordType) -> Predicate:
    """Compile a ``q`` expression for ``rtype``; raises NsError 400 when it is not valid."""
    return _Parser(text, rtype).parse()
