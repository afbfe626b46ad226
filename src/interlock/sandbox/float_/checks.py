"""Field validation with Yii2-style messages, collected so one 422 names every problem."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from interlock.sandbox.float_.wire import Problem, invalid

Record = dict[str, Any]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COLOR = re.compile(r"^[0-9A-Fa-f]{6}$")


def label(field: str) -> str:
    """``people_id`` → ``People ID``, as Yii2 names attributes in its messages."""
    words = [("ID" if w == "id" else w.capitalize()) for w in field.split("_")]
    return " ".join(words)


class Checks:
    """Reads fields from a request body and records what is wrong with them."""

    def __init__(self, body: Record, current: Record | None = None) -> None:
        self.body = body
        self.current = current or {}
        self.problems: list[Problem] = []

    def fail(self, field: str, message: str) -> None:
        self.problems.append({"field": field, "message": message})

    def done(self) -> None:
        """Raise the 422 when anything was wrong."""
        if self.problems:
            raise invalid(self.problems)

    def given(self, field: str) -> bool:
        return field in self.body

    def value(self, field: str, default: Any = None) -> Any:
        """The body's value, else the current record's (an update), else ``default``."""
        if field in self.body:
            return self.body[field]
        return self.current.get(field, default)

    def text(self, field: str, *, required: bool = False, most: int = 255) -> str | None:
        value = self.value(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, f"{label(field)} cannot be blank.")
            return None
        if not isinstance(value, str):
            self.fail(field, f"{label(field)} must be a string.")
            return None
        if len(value) > most:
            self.fail(field, f"{label(field)} should contain at most {most} characters.")
        return value.strip()

    def email(self, field: str) -> str | None:
        value = self.text(field)
        if value is not None and not _EMAIL.match(value):
            self.fail(field, f"{label(field)} is not a valid email address.")
        return value

    def color(self, field: str) -> str | None:
        value = self.text(field)
        if value is not None and not _COLOR.match(value):
            self.fail(field, f"{label(field)} must be a hex colour without '#'.")
        return value

    def integer(
        self,
        field: str,
        *,
        default: int | None = None,
        choices: Iterable[int] | None = None,
        required: bool = False,
    ) -> int | None:
        value = self.value(field, default)
        if value is None or value == "":
            if required:
                self.fail(field, f"{label(field)} cannot be blank.")
            return None
        if isinstance(value, bool) or not _is_int(value):
            self.fail(field, f"{label(field)} must be an integer.")
            return None
        number = int(value)
        allowed = list(choices) if choices is not None else None
        if allowed is not None and number not in allowed:
            self.fail(field, f"{label(field)} is invalid.")
        return number

    def number(
        self, field: str, *, required: bool = False, above: float = 0.0, most: float | None = None
    ) -> float | None:
        value = self.value(field)
        if value is None or value == "":
            if required:
                self.fail(field, f"{label(field)} cannot be blank.")
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            self.fail(field, f"{label(field)} must be a number.")
            return None
        if number <= above:
            self.fail(field, f"{label(field)} must be greater than {above:g}.")
        elif most is not None and number > most:
            self.fail(field, f"{label(field)} must be no greater than {most:g}.")
        return number

    def date(self, field: str, *, required: bool = False) -> dt.date | None:
        value = self.value(field)
        if value is None or value == "":
            if required:
                self.fail(field, f"{label(field)} cannot be blank.")
            return None
        try:
            return dt.date.fromisoformat(str(value)) if len(str(value)) == 10 else _bad_date()
        except ValueError:
            self.fail(field, f"The format of {label(field)} is invalid (use YYYY-MM-DD).")
            return None

    def period(self, *, required: bool = True) -> tuple[dt.date | None, dt.date | None]:
        start = self.date("start_date", required=required)
        end = self.date("end_date", required=required)
        if start is not None and end is not None and end < start:
            self.fail("end_date", "End Date must be on or after Start Date.")
        return start, end

    def reference(
        self, field: str, exists: Callable[[int], bool], *, required: bool = False
    ) -> int | None:
        """An id that must name an existing record."""
        number = self.integer(field, required=required)
        if number is not None and not exists(number):
            self.fail(field, f"{label(field)} is invalid.")
        return number

    def tags(self, field: str = "tags") -> list[Record]:
        """Tags as ``[{"name": ...}]``; plain strings are accepted on input."""
        value = self.value(field, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(field, f"{label(field)} must be a list.")
            return []
        tags: list[Record] = []
        for item in value:
            name = item.get("name") if isinstance(item, dict) else item
            if not isinstance(name, str) or not name.strip():
                self.fail(field, f"{label(field)} must be names.")
                return []
            tags.append({"name": name.strip()})
        return tags


def _is_int(value: Any) -> bool:
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _bad_date() -> dt.date:
    raise ValueError("not YYYY-MM-DD")
