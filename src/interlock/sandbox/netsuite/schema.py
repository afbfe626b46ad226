"""How record bodies are described, checked and rendered (the types themselves: ``records``).

Stored records keep canonical camelCase field names with plain values: a reference or an
enum is its id string, a date a ``datetime.date``, a timestamp an aware UTC ``datetime``, a
duration whole minutes, a sublist a list of line dicts. Requests may use any letter case for
field names (Oracle's own examples are lower-case).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from interlock.sandbox.netsuite.errors import NsError


class Kind(StrEnum):
    """Value kinds of body fields."""

    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    NUMBER = "number"
    BOOLEAN = "boolean"
    REF = "ref"
    ENUM = "enum"
    DURATION = "duration"
    SUBLIST = "sublist"


@dataclass(frozen=True)
class Field:
    """One body field: its kind, its UI label (used in messages) and its rules.

    A ``SUBLIST`` field lists the fields of its lines in ``lines``.
    """

    kind: Kind
    label: str
    ref: str | None = None
    choices: Mapping[str, str] = field(default_factory=dict)
    required: bool = False
    read_only: bool = False
    lines: Mapping[str, Field] = field(default_factory=dict)


def lookup(fields: Mapping[str, Field], key: str) -> tuple[str, Field] | None:
    """The canonical name and spec of ``key`` among ``fields``, ignoring letter case."""
    wanted = key.lower()
    for name, spec in fields.items():
        if name.lower() == wanted:
            return name, spec
    return None


@dataclass(frozen=True)
class RecordType:
    """A REST record type. ``ref_name`` lists the fields whose first value names a record.

    ``created`` is the name of the creation stamp: entities say ``dateCreated``, transactions
    and time bills ``createdDate``.
    """

    name: str
    fields: Mapping[str, Field]
    ref_name: tuple[str, ...]
    created: str = "dateCreated"

    def lookup(self, key: str) -> tuple[str, Field] | None:
        """The canonical name and spec of ``key``, matched without regard to case."""
        return lookup(self.fields, key)

    def sublists(self) -> tuple[str, ...]:
        """Names of the sublist fields."""
        return tuple(n for n, s in self.fields.items() if s.kind is Kind.SUBLIST)


Resolver = Callable[[str, dict[str, Any]], str | None]
"""Finds the id of a referenced record from ``{"id"}`` or ``{"externalId"}``, or None."""

_DURATION = re.compile(r"^(\d{1,4}):([0-5]\d)$|^(\d{1,4}(?:\.\d+)?)$")


def parse_duration(text: str) -> int | None:
    """Minutes of a duration written ``H:MM`` or as decimal hours (``7.5``); None if neither.

    Interlock assumption: the REST catalog types ``timeBill.hours`` as a string labelled
    Duration without a format; the UI accepts both forms, so the sandbox does too.
    """
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    hours, minutes, decimal = match.groups()
    if decimal is not None:
        return round(float(decimal) * 60)
    return int(hours) * 60 + int(minutes)


def format_duration(minutes: int) -> str:
    """A duration as NetSuite shows it: ``7:30``."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def bad_value(path: str, value: object) -> NsError:
    """The error for a value of the wrong type or outside its choices."""
    return NsError(
        400,
        "Error while accessing a resource. You have entered an Invalid Field "
        f"Value {value!r} for the following field: {path}",
        "INVALID_CONTENT",
        path=path,
    )


def bad_reference(path: str, key: object) -> NsError:
    """The error for a reference to a record that does not exist (or does not fit)."""
    return NsError(
        400,
        f"Error while accessing a resource. Invalid {path} reference key {key}.",
        "INVALID_KEY_OR_REF",
        path=path,
    )


def _field_of(fields: Mapping[str, Field], key: str, path: str, owner: str) -> tuple[str, Field]:
    found = lookup(fields, key)
    if found is None:
        raise NsError(
            400,
            f"Invalid field name '{key}': the field does not exist on {owner}.",
            "INVALID_CONTENT",
            path=f"{path}{key}",
        )
    name, spec = found
    if spec.read_only:
        raise NsError(
            400,
            f"The field {name} is read-only and cannot be set.",
            "INVALID_CONTENT",
            path=f"{path}{name}",
        )
    return name, spec


def coerce(rtype: RecordType, key: str, value: Any, resolve: Resolver) -> tuple[str, Any]:
    """Check one body field and return (canonical name, stored value)."""
    name, spec = _field_of(rtype.fields, key, "", f"record type {rtype.name}")
    if value is None:
        if spec.required:
            raise missing(name, spec)
        return name, None
    if spec.kind is Kind.SUBLIST:
        return name, _lines(name, spec, value, resolve)
    return name, _value(name, spec, value, resolve)


def _lines(name: str, spec: Field, value: Any, resolve: Resolver) -> list[dict[str, Any]]:
    items = value.get("items") if isinstance(value, dict) else None
    if not isinstance(items, list):
        raise bad_value(name, value)
    out = []
    for index, item in enumerate(items):
        path = f"{name}.items[{index}]"
        if not isinstance(item, dict):
            raise bad_value(path, item)
        line: dict[str, Any] = {}
        for key, raw in item.items():
            field_name, field_spec = _field_of(spec.lines, key, f"{path}.", f"sublist {name}")
            if raw is not None:
                line[field_name] = _value(f"{path}.{field_name}", field_spec, raw, resolve)
        for field_name, field_spec in spec.lines.items():
            if field_spec.required and line.get(field_name) is None:
                raise missing(f"{path}.{field_name}", field_spec)
        out.append(line)
    return out


def _value(path: str, spec: Field, value: Any, resolve: Resolver) -> Any:
    kind = spec.kind
    if kind is Kind.TEXT and isinstance(value, str):
        return value
    if kind is Kind.NUMBER and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind is Kind.BOOLEAN and isinstance(value, bool):
        return value
    if kind is Kind.DURATION and isinstance(value, str):
        minutes = parse_duration(value)
        if minutes is not None:
            return minutes
    if kind is Kind.DATE and isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise bad_value(path, value) from None
    if kind is Kind.ENUM and isinstance(value, dict) and str(value.get("id")) in spec.choices:
        return str(value["id"])
    if kind is Kind.REF and isinstance(value, dict) and ("id" in value or "externalId" in value):
        assert spec.ref is not None
        target = resolve(spec.ref, value)
        if target is None:
            raise bad_reference(path, value.get("id", value.get("externalId")))
        return target
    raise bad_value(path, value)


def missing(path: str, spec: Field) -> NsError:
    """The error for a required field left empty."""
    return NsError(
        400,
        f"Error while accessing a resource. Please enter value(s) for: {spec.label}.",
        "USER_ERROR",
        path=path,
    )


def check_required(rtype: RecordType, record: Mapping[str, Any]) -> None:
    """Raise USER_ERROR for the first required field without a value."""
    for name, spec in rtype.fields.items():
        if spec.required and record.get(name) in (None, []):
            raise missing(name, spec)


def iso_datetime(value: dt.datetime) -> str:
    """A timestamp as the REST API writes it: ``2024-07-01T12:00:00Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Renderer:
    """Renders stored records as the REST API returns them.

    Args:
        href: URL of a record from (type, id).
        ref_name: ``refName`` of a record from (type, id), or None.
        simple_enums: ``simpleEnumFormat=true``: enums as their bare id.
        expand: ``expandSubResources=true``: sublists with their lines, not only a link.
    """

    href: Callable[[str, str], str]
    ref_name: Callable[[str, str], str | None]
    simple_enums: bool = False
    expand: bool = False

    def record(self, rtype: RecordType, record: Mapping[str, Any]) -> dict[str, Any]:
        """A stored record: references expanded, empty fields left out."""
        own = self.href(rtype.name, record["id"])
        out: dict[str, Any] = {"links": [{"rel": "self", "href": own}]}
        for name, spec in rtype.fields.items():
            value = record.get(name)
            if value is None:
                continue
            if spec.kind is Kind.SUBLIST:
                link = [{"rel": "self", "href": f"{own}/{name}"}]
                out[name] = self.sublist(spec, value, link) if self.expand else {"links": link}
            else:
                out[name] = self.value(spec, value)
        return out

    def sublist(
        self, spec: Field, lines: list[dict[str, Any]], links: list[dict[str, str]]
    ) -> dict[str, Any]:
        """A sublist as a collection of its lines."""
        items = [
            {k: self.value(spec.lines[k], v) for k, v in line.items() if v is not None}
            for line in lines
        ]
        return {
            "links": links,
            "count": len(items),
            "hasMore": False,
            "items": items,
            "offset": 0,
            "totalResults": len(items),
        }

    def value(self, spec: Field, value: Any) -> Any:
        """One stored value in its wire form."""
        if spec.kind is Kind.REF:
            assert spec.ref is not None
            ref: dict[str, Any] = {"id": value}
            label = self.ref_name(spec.ref, value)
            if label is not None:
                ref["refName"] = label
            ref["links"] = [{"rel": "self", "href": self.href(spec.ref, value)}]
            return ref
        if spec.kind is Kind.ENUM:
            return value if self.simple_enums else {"id": value, "refName": spec.choices[value]}
        if spec.kind is Kind.DATE:
            return value.isoformat()
        if spec.kind is Kind.DATETIME:
            return iso_datetime(value)
        if spec.kind is Kind.DURATION:
            return format_duration(value)
        return value
