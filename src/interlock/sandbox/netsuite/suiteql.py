"""A small SuiteQL: enough of ``SELECT ... FROM ... WHERE ... ORDER BY`` for integrations.

Supported::

    SELECT * | item ("," item)*  FROM table  [WHERE cond]  [ORDER BY col [ASC|DESC], ...]
    item    := column [[AS] alias] | TO_CHAR(column, 'format') [[AS] alias]
    cond    := cond OR cond | cond AND cond | NOT cond | "(" cond ")"
             | operand (= | != | <> | < | <= | > | >=) operand
             | operand IS [NOT] NULL | operand [NOT] IN (operand, ...) | operand [NOT] LIKE 'p%'
    operand := column | 'text' | number | TO_DATE('text', 'format') | TO_TIMESTAMP(...)

Like NetSuite, column names come back lower-case, every value is a string, empty values are
left out of the row, check boxes read ``T``/``F``, and dates and timestamps use the default
user date format (``7/1/2024``) unless formatted with ``TO_CHAR``. Formats know YYYY, MM, DD,
HH24, MI, SS and quoted text. Timestamps are UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from interlock.sandbox.netsuite.schema import Field
from interlock.sandbox.netsuite.sqlvalues import (
    COMPARISONS,
    TABLES,
    Row,
    bad_query,
    compare,
    order_key,
    parse_timestamp,
    strftime_format,
    text,
)

Operand = Callable[[Row], Any]
Condition = Callable[[Row], bool]

_TOKEN = re.compile(
    r"\s*(?:'((?:[^']|'')*)'|(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)"
    r"|(<=|>=|<>|!=|=|<|>|\(|\)|,|\*))"
)


@dataclass(frozen=True)
class _Item:
    key: str
    column: str
    fmt: str | None = None

    def value(self, row: Row) -> str | None:
        value = row.get(self.column)
        if self.fmt is not None and isinstance(value, dt.date):
            return value.strftime(self.fmt)
        return text(value)


@dataclass(frozen=True)
class Query:
    """A parsed query: its table (see ``sqlvalues.TABLES``), columns, filter and order."""

    table: str
    items: tuple[_Item, ...]
    where: Condition
    order: tuple[tuple[str, bool], ...]

    def execute(self, rows: list[dict[str, Any]]) -> list[dict[str, str]]:
        """Run over the rows of ``table``; return the result rows (without ``links``)."""
        rows = [r for r in rows if self.where(r)]
        for column, descending in reversed(self.order):
            rows.sort(key=order_key(column), reverse=descending)
        out = []
        for row in rows:
            values = ((item.key, item.value(row)) for item in self.items)
            out.append({k: v for k, v in values if v is not None})
        return out


def _always(row: Row) -> bool:
    return True


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = self._lex(text)
        self.pos = 0
        self.columns: dict[str, Field] = {}
        self.table = "?"

    @staticmethod
    def _lex(text: str) -> list[tuple[str, str]]:
        out, pos, text = [], 0, text.strip().rstrip(";")
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise bad_query(f"Syntax error near {text[pos : pos + 20]!r}.")
            string, number, word, op = match.groups()
            if string is not None:
                out.append(("str", string.replace("''", "'")))
            elif number is not None:
                out.append(("num", number))
            elif word is not None:
                out.append(("word", word.lower()))
            else:
                out.append(("op", op))
            pos = match.end()
        return out

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        at = self.pos + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise bad_query("Unexpected end of query.")
        self.pos += 1
        return token

    def accept(self, word: str) -> bool:
        peeked = self.peek()
        if peeked is not None and peeked[1] == word and peeked[0] in ("word", "op"):
            self.pos += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            found = self.peek()
            raise bad_query(f"Expected {word.upper()}, found {found[1] if found else 'end'}.")

    def parse(self) -> Query:
        self.expect("select")
        start = self.pos
        while self.peek() is not None and self.peek() != ("word", "from"):
            self.pos += 1
        self.expect("from")
        kind, table = self.take()
        if kind != "word" or table not in TABLES:
            raise bad_query(f"Search error occurred: Record '{table}' was not found.")
        name = self.table = table
        self.columns = dict(TABLES[table].columns)
        end, after = self.pos - 2, self.pos
        self.pos = start
        items = self.select_list(end)
        self.pos = after
        where = self.disjunction() if self.accept("where") else _always
        order: list[tuple[str, bool]] = []
        if self.accept("order"):
            self.expect("by")
            order.append(self.order_item())
            while self.accept(","):
                order.append(self.order_item())
        if self.peek() is not None:
            raise bad_query(f"Unexpected {self.peek()[1]!r}.")  # type: ignore[index]
        return Query(name, tuple(items), where, tuple(order))

    def column(self) -> str:
        kind, name = self.take()
        if kind != "word" or name not in self.columns:
            raise bad_query(f"Field '{name}' for record '{self.table}' was not found.")
        return name

    def select_list(self, end: int) -> list[_Item]:
        if self.peek() == ("op", "*") and self.pos + 1 == end:
            return [_Item(c, c) for c in self.columns]
        items, count = [], 0
        while True:
            count += 1
            items.append(self.select_item(count))
            if self.pos >= end or not self.accept(","):
                break
        if self.pos != end:
            raise bad_query("Syntax error in the select list.")
        return items

    def select_item(self, count: int) -> _Item:
        if self.peek() == ("word", "to_char"):
            self.take()
            self.expect("(")
            column = self.column()
            self.expect(",")
            kind, fmt = self.take()
            if kind != "str":
                raise bad_query("TO_CHAR needs a format string.")
            self.expect(")")
            return _Item(self.alias() or f"expr{count}", column, strftime_format(fmt))
        column = self.column()
        return _Item(self.alias() or column, column)

    def alias(self) -> str | None:
        self.accept("as")
        token = self.peek()
        if token is not None and token[0] == "word" and token[1] != "from":
            self.pos += 1
            return token[1]
        return None

    def order_item(self) -> tuple[str, bool]:
        column = self.column()
        if self.accept("desc"):
            return column, True
        self.accept("asc")
        return column, False

    def disjunction(self) -> Condition:
        parts = [self.conjunction()]
        while self.accept("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def conjunction(self) -> Condition:
        parts = [self.negation()]
        while self.accept("and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def negation(self) -> Condition:
        if self.accept("not"):
            inner = self.negation()
            return lambda r: not inner(r)
        if self.accept("("):
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        left = self.operand()
        if self.accept("is"):
            negate = self.accept("not")
            self.expect("null")
            return lambda r: (left(r) is None) != negate
        negate = self.accept("not")
        if self.accept("in"):
            return self.membership(left, negate)
        if self.accept("like"):
            kind, pattern = self.take()
            if kind != "str":
                raise bad_query("LIKE needs a pattern string.")
            regex = re.compile(
                "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
                + r"\Z",
                re.S,
            )
            return lambda r: (regex.match(str(left(r) or "")) is not None) != negate
        if negate:
            raise bad_query("NOT must precede IN or LIKE here.")
        kind, op = self.take()
        if op not in COMPARISONS:
            raise bad_query(f"Unknown operator {op!r}.")
        right, test = self.operand(), COMPARISONS[op]

        def condition(row: Row) -> bool:
            result = compare(left(row), right(row))
            return result is not None and test(result)

        return condition

    def membership(self, left: Operand, negate: bool) -> Condition:
        self.expect("(")
        start, options = self.pos, [self.operand()]
        while self.accept(","):
            options.append(self.operand())
        self.expect(")")
        # A list of text literals only (ids, external ids) is matched as a set, for speed.
        texts = frozenset(v for k, v in self.tokens[start : self.pos - 1] if k == "str")
        literal = len(texts) == len(options) == (self.pos - start) // 2

        def condition(row: Row) -> bool:
            value = left(row)
            if literal and isinstance(value, str):
                return (value in texts) != negate
            return any(compare(value, o(row)) == 0 for o in options) != negate

        return condition

    def operand(self) -> Operand:
        kind, value = self.take()
        if kind == "str":
            return lambda r: value
        if kind == "num":
            number = float(value)
            return lambda r: number
        if kind == "word" and value in ("to_date", "to_timestamp"):
            return self.conversion()
        if kind == "word" and value in self.columns:
            return lambda r: r.get(value)
        raise bad_query(f"Unknown field or value {value!r}.")

    def conversion(self) -> Operand:
        self.expect("(")
        kind, text = self.take()
        self.expect(",")
        fmt_kind, fmt = self.take()
        self.expect(")")
        if kind != "str" or fmt_kind != "str":
            raise bad_query("TO_DATE and TO_TIMESTAMP take two strings.")
        when = parse_timestamp(text, fmt)
        return lambda r: when


def parse_query(text: str) -> Query:
    """Parse SuiteQL text; raises NsError 400 for anything outside the supported subset."""
    return _Parser(text).parse()
