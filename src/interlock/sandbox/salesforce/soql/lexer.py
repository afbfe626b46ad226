"""SOQL tokens: names, keywords, operators and literals (strings, numbers, dates)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

KEYWORDS = frozenset(
    {
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "NULLS",
        "FIRST",
        "LAST",
        "LIMIT",
        "TRUE",
        "FALSE",
        "NULL",
    }
)
COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">=", "LIKE", "IN", "NOT IN"})

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ",")
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "%": "\\%",
    "_": "\\_",
}


class SoqlError(Exception):
    """A query the org refuses; ``code`` is the Salesforce errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def located(text: str, offset: int, message: str) -> str:
    """Lay an error out as Salesforce does: query line, caret, row and column, message."""
    row = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    column = offset - line_start + 1
    line = text.splitlines()[row - 1] if text else ""
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{message}"


@dataclass(frozen=True)
class Token:
    """One lexical unit; ``value`` is the decoded literal or the upper-cased keyword."""

    kind: str  # name, keyword, string, number, date, datetime, op, end
    text: str
    value: object
    offset: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens. Raises SoqlError(MALFORMED_QUERY) on a stray character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif char == "'":
            value, end = _string(text, pos)
            tokens.append(Token("string", text[pos:end], value, pos))
            pos = end
        elif char.isdigit() or (char in "+-" and text[pos + 1 : pos + 2].isdigit()):
            token = _temporal(text, pos) or _number(text, pos)
            tokens.append(token)
            pos += len(token.text)
        elif (match := _NAME.match(text, pos)) is not None:
            word = match.group()
            kind = "keyword" if word.upper() in KEYWORDS else "name"
            tokens.append(Token(kind, word, word.upper() if kind == "keyword" else word, pos))
            pos = match.end()
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, pos)), None)
            if op is None:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    located(text, pos, f"line 1:{pos} no viable alternative at character '{char}'"),
                )
            tokens.append(Token("op", op, "!=" if op == "<>" else op, pos))
            pos += len(op)
    tokens.append(Token("end", "<EOF>", None, len(text)))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == "'":
            return "".join(out), pos + 1
        if char == "\\":
            code = text[pos + 1 : pos + 2]
            if code == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[pos + 2 : pos + 6]):
                out.append(chr(int(text[pos + 2 : pos + 6], 16)))
                pos += 6
                continue
            if code.lower() not in _ESCAPES:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    located(text, pos, "Invalid string literal: illegal escape sequence"),
                )
            out.append(_ESCAPES[code.lower()])
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise SoqlError("MALFORMED_QUERY", located(text, start, "unterminated string literal"))


def _temporal(text: str, start: int) -> Token | None:
    date_match = _DATE.match(text, start)
    if date_match is None:
        return None
    time_match = _TIME.match(text, date_match.end())
    end = time_match.end() if time_match else date_match.end()
    if _NAME.match(text, end) or text[end : end + 1].isdigit():
        raise SoqlError(
            "MALFORMED_QUERY",
            located(
                text, start, f"line 1:{start} no viable alternative at character '{text[start]}'"
            ),
        )
    try:
        day = dt.date.fromisoformat(date_match.group())
        if time_match is None:
            return Token("date", text[start:end], day, start)
        hour, minute, second, fraction, zone = time_match.groups()
        offset = (
            dt.timedelta(0)
            if zone == "Z"
            else (
                (1 if zone[0] == "+" else -1)
                * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            )
        )
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        value = dt.datetime(
            day.year,
            day.month,
            day.day,
            int(hour),
            int(minute),
            int(second),
            micro,
            tzinfo=dt.timezone(offset),
        ).astimezone(dt.UTC)
    except ValueError:
        raise SoqlError(
            "MALFORMED_QUERY", located(text, start, f"invalid date or time: {text[start:end]}")
        ) from None
    return Token("datetime", text[start:end], value, start)


def _number(text: str, start: int) -> Token:
    match = _NUMBER.match(text, start)
    assert match is not None  # the caller saw a digit
    return Token("number", match.group(), Decimal(match.group()), start)
