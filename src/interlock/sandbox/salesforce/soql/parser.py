"""The SOQL syntax tree and a recursive-descent parser."""

from __future__ import annotations

from dataclasses import dataclass

from interlock.sandbox.salesforce.soql.lexer import SoqlError, Token, located, tokenize


@dataclass(frozen=True)
class Literal:
    """A constant: ``kind`` is string, number, boolean, null, date or datetime."""

    kind: str  # string, number, boolean, null, date, datetime
    value: object


@dataclass(frozen=True)
class FieldRef:
    """A field or object name and where it stands in the query text."""

    name: str
    offset: int


@dataclass(frozen=True)
class Comparison:
    """``field op value``; ``value`` is a tuple for IN and NOT IN."""

    field: FieldRef
    op: str
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class Logical:
    """Terms joined by one of AND or OR."""

    op: str  # AND, OR
    terms: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """A negated term."""

    term: Condition


Condition = Comparison | Logical | Not


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY entry."""

    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    """A parsed SELECT statement; ``text`` is kept for error messages."""

    text: str
    fields: tuple[FieldRef, ...]
    count: bool
    sobject: FieldRef
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def fail(self, token: Token | None = None) -> SoqlError:
        token = token or self.current
        return SoqlError(
            "MALFORMED_QUERY", located(self.text, token.offset, f"unexpected token: '{token.text}'")
        )

    def accept(self, *words: str) -> Token | None:
        token = self.current
        if token.kind in ("keyword", "op") and token.value in words:
            self.index += 1
            return token
        return None

    def expect(self, *words: str) -> Token:
        token = self.accept(*words)
        if token is None:
            raise self.fail()
        return token

    def name(self) -> FieldRef:
        token = self.current
        if token.kind != "name":
            raise self.fail()
        self.index += 1
        return FieldRef(token.text, token.offset)

    def query(self) -> Query:
        self.expect("SELECT")
        count, fields = self.select_list()
        self.expect("FROM")
        sobject = self.name()
        where = self.condition() if self.accept("WHERE") else None
        order: tuple[OrderItem, ...] = ()
        if self.accept("ORDER"):
            self.expect("BY")
            order = self.order_list()
        limit = None
        if self.accept("LIMIT"):
            token = self.current
            if token.kind != "number" or not token.text.isdigit():
                raise self.fail()
            self.index += 1
            limit = int(token.text)
        if self.current.kind != "end":
            raise self.fail()
        return Query(self.text, fields, count, sobject, where, order, limit)

    def select_list(self) -> tuple[bool, tuple[FieldRef, ...]]:
        first = self.current
        if (
            first.kind == "name"
            and first.text.upper() == "COUNT"
            and (self.tokens[self.index + 1].value == "(")
        ):
            self.index += 1
            self.expect("(")
            self.expect(")")
            if self.current.value == ",":
                raise self.fail()
            return True, ()
        fields = [self.name()]
        while self.accept(","):
            fields.append(self.name())
        return False, tuple(fields)

    def order_list(self) -> tuple[OrderItem, ...]:
        items = []
        while True:
            field = self.name()
            direction = self.accept("ASC", "DESC")
            descending = direction is not None and direction.value == "DESC"
            nulls_last = descending
            if self.accept("NULLS"):
                nulls_last = self.expect("FIRST", "LAST").value == "LAST"
            items.append(OrderItem(field, descending, nulls_last))
            if not self.accept(","):
                return tuple(items)

    def condition(self) -> Condition:
        terms = [self.term()]
        joiner: str | None = None
        while (token := self.accept("AND", "OR")) is not None:
            if joiner is not None and token.value != joiner:
                raise self.fail(token)  # SOQL needs parentheses to mix AND and OR
            joiner = str(token.value)
            terms.append(self.term())
        return terms[0] if joiner is None else Logical(joiner, tuple(terms))

    def term(self) -> Condition:
        if self.accept("NOT"):
            return Not(self.term())
        if self.accept("("):
            inner = self.condition()
            self.expect(")")
            return inner
        field = self.name()
        if self.accept("NOT"):
            self.expect("IN")
            return Comparison(field, "NOT IN", self.value_list())
        if self.accept("IN"):
            return Comparison(field, "IN", self.value_list())
        op = self.expect("=", "!=", "<", "<=", ">", ">=", "LIKE")
        return Comparison(field, str(op.value), self.literal())

    def value_list(self) -> tuple[Literal, ...]:
        self.expect("(")
        values = [self.literal()]
        while self.accept(","):
            values.append(self.literal())
        self.expect(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.current
        if token.kind in ("string", "number", "date", "datetime"):
            self.index += 1
            return Literal(token.kind, token.value)
        if token.kind == "keyword" and token.value in ("TRUE", "FALSE", "NULL"):
            self.index += 1
            if token.value == "NULL":
                return Literal("null", None)
            return Literal("boolean", token.value == "TRUE")
        raise self.fail()


def parse(text: str) -> Query:
    """Parse one SOQL statement. Raises SoqlError(MALFORMED_QUERY) on bad syntax."""
    return _Parser(text).query()
