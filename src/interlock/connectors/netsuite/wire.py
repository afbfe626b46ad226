"""NetSuite's wire values as the mappings meet them: references, enums, durations, numbers.

A REST record carries a reference as ``{"id", "refName", "links"}`` and an enum as
``{"id", "refName"}`` (or the bare id with ``simpleEnumFormat=true``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from interlock.model import canonical_id

Record = Mapping[str, Any]


def ref(native_id: str | None) -> dict[str, str] | None:
    """A reference to write: ``{"id": ...}``, or None (which clears the field)."""
    return {"id": native_id} if native_id else None


def ref_id(value: Any) -> str | None:
    """The id of a reference (or enum) as read: from ``{"id": ...}`` or a bare id."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value not in (None, "") else None


def ref_name(value: Any) -> str | None:
    """The ``refName`` of a reference as read, if NetSuite sent one."""
    name = value.get("refName") if isinstance(value, dict) else None
    return str(name) if name else None


def own_id(kind: str, system: str, record: Record) -> str:
    """The canonical id of a record read back: its external id, else one derived from its id."""
    external = record.get("externalId") or record.get("externalid")
    return str(external) if external else canonical_id(kind, system, str(record["id"]))


def linked_id(kind: str, system: str, value: Any) -> str | None:
    """The canonical id of a referenced record, derived from its NetSuite id.

    The engine's cross-reference maps it to the id the record has elsewhere.
    """
    native = ref_id(value)
    return canonical_id(kind, system, native) if native else None


def duration(hours: Decimal) -> str:
    """Hours as a NetSuite duration, ``H:MM``, rounded to the minute."""
    minutes = int((hours * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return f"{minutes // 60}:{minutes % 60:02d}"


def hours_of(value: Any) -> Decimal | None:
    """Decimal hours of a duration read back (``7:30`` or ``7.5``), to the hundredth."""
    text = str(value or "").strip()
    whole, colon, minutes = text.partition(":")
    try:
        hours = Decimal(whole) + (Decimal(minutes) / 60 if colon else 0)
    except InvalidOperation:
        return None
    return hours.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def number(value: Decimal) -> float:
    """A decimal as a JSON number (NetSuite's numbers are doubles)."""
    return float(value)


def decimal(value: Any) -> Decimal | None:
    """A JSON number read back as an exact decimal (via its shortest text form)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
