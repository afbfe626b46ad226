"""Checking a create/update body against the schema, with Salesforce's error codes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from interlock.sandbox.salesforce import ids
from interlock.sandbox.salesforce.errors import NOT_FOUND, ApiError
from interlock.sandbox.salesforce.schema import (
    ID_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    Field,
    SObject,
    sobject,
)


def checked_body(obj: SObject, body: Mapping[str, Any]) -> dict[str, Any]:
    """The body's values keyed by declared field name, converted to stored form.

    Raises:
        ApiError: ``INVALID_FIELD`` (unknown field, or ``Id``),
            ``INVALID_FIELD_FOR_INSERT_UPDATE`` (read-only field), ``JSON_PARSER_ERROR``
            (a value of the wrong type), ``STRING_TOO_LONG``.
    """
    values: dict[str, Any] = {}
    unknown: list[str] = []
    read_only: list[str] = []
    for key, value in body.items():
        if key == "attributes":
            continue
        field = obj.field(key)
        if field is None:
            unknown.append(key)
        elif field.name == "Id":
            raise ApiError(
                400,
                "INVALID_FIELD",
                "The Id field should not be specified in the sobject data.",
                ["Id"],
            )
        elif not field.writable:
            read_only.append(field.name)
        else:
            values[field.name] = converted(field, value)
    if unknown:
        raise ApiError(
            400,
            "INVALID_FIELD",
            f"No such column '{unknown[0]}' on sobject of type {obj.name}",
            unknown,
        )
    if read_only:
        raise ApiError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(read_only)}. Please check "
            "the security settings of this field and verify that it is read/write "
            "for your profile or permission set.",
            read_only,
        )
    return values


def converted(field: Field, value: Any) -> Any:
    """``value`` in the form the org stores for ``field``. Raises ApiError on a bad type."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise _parse_error(
            field, "START_OBJECT" if isinstance(value, dict) else "START_ARRAY", value
        )
    try:
        if field.type in TEXT_TYPES | ID_TYPES:
            text = value if isinstance(value, str) else _json_text(value)
            if field.length is not None and len(text) > field.length:
                raise ApiError(
                    400,
                    "STRING_TOO_LONG",
                    f"{field.name}: data value too large: {text[:40]} (max length={field.length})",
                    [field.name],
                )
            return text
        if field.type in NUMBER_TYPES:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if field.type == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError
        if field.type == "date":
            return dt.date.fromisoformat(str(value)).isoformat()
        if field.type == "datetime":
            return ids.format_datetime(ids.parse_datetime(str(value)))
    except ValueError:
        raise _parse_error(field, "VALUE_STRING", value) from None
    return value


def check_references(
    obj: SObject, values: dict[str, Any], records: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> None:
    """Check that references name live records of the right type; store 18-character ids.

    ``records`` is sObject name → id → record.

    Raises:
        ApiError: ``MALFORMED_ID`` (not an id) or ``INVALID_CROSS_REFERENCE_KEY``.
    """
    for name, value in values.items():
        field = obj.field(name)
        if field is None or field.references not in records or value is None:
            continue
        normal = ids.normalize_id(str(value))
        if normal is None:
            raise ApiError(
                400, "MALFORMED_ID", f"{field.name}: id value of incorrect type: {value}", [name]
            )
        target = records[str(field.references)].get(normal)
        if target is None or target["IsDeleted"]:
            raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
        values[name] = normal


def sobject_type(name: str) -> SObject:
    """The sObject type called ``name``. Raises ApiError(404 NOT_FOUND)."""
    obj = sobject(name)
    if obj is None:
        raise ApiError(404, "NOT_FOUND", NOT_FOUND)
    return obj


def require_fields(obj: SObject, record: Mapping[str, Any]) -> None:
    """Raise ApiError(REQUIRED_FIELD_MISSING) naming the required fields ``record`` lacks."""
    missing = missing_required(obj, record)
    if missing:
        raise ApiError(
            400,
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )


def missing_required(obj: SObject, record: Mapping[str, Any]) -> list[str]:
    """Required fields of ``record`` that are null or blank."""
    return [
        f.name
        for f in obj.fields
        if f.required and (record.get(f.name) is None or record.get(f.name) == "")
    ]


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_error(field: Field, token: str, value: Any) -> ApiError:
    return ApiError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {field.type} from {token} value {value} "
        "or request may be missing a required field",
        [field.name],
    )
