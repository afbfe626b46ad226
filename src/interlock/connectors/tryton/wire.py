"""Tryton's JSON-RPC wire format: tagged values and error replies.

Tryton tags values JSON has no type for: ``{"__class__": "Decimal", "decimal": "1.50"}``,
``date``, ``datetime`` (naive UTC), ``time``, ``timedelta`` (seconds) and ``bytes``
(base64). Python datetimes here are UTC-aware; they travel naive UTC.
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

import httpx

from interlock.exceptions import (
    AuthenticationFailed,
    ConnectorError,
    ConnectorUnavailable,
    RecordRejected,
)


def encode(value: Any) -> Any:
    """``value`` with dates, decimals, durations and bytes tagged for Tryton."""
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return {
            "__class__": "datetime",
            **{k: getattr(value, k) for k in ("year", "month", "day", "hour", "minute")},
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dt.time):
        return {
            "__class__": "time",
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode()}
    return value


def _tagged(value: dict[str, Any]) -> Any:
    kind = value["__class__"]
    if kind == "Decimal":
        return Decimal(str(value["decimal"]))
    if kind == "datetime":
        return dt.datetime(
            int(value["year"]),
            int(value["month"]),
            int(value["day"]),
            int(value.get("hour", 0)),
            int(value.get("minute", 0)),
            int(value.get("second", 0)),
            int(value.get("microsecond", 0)),
            tzinfo=dt.UTC,
        )
    if kind == "date":
        return dt.date(int(value["year"]), int(value["month"]), int(value["day"]))
    if kind == "time":
        return dt.time(
            int(value.get("hour", 0)),
            int(value.get("minute", 0)),
            int(value.get("second", 0)),
            int(value.get("microsecond", 0)),
        )
    if kind == "timedelta":
        return dt.timedelta(seconds=float(value["seconds"]))
    if kind == "bytes":
        return base64.b64decode(value["base64"])
    raise ValueError(f"unknown Tryton value class {kind!r}")


def decode(value: Any) -> Any:
    """``value`` with Tryton's tagged values turned into Python ones."""
    if isinstance(value, dict):
        if "__class__" in value:
            return _tagged(value)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def read_http_error(response: httpx.Response) -> tuple[str, str | None, tuple[str, ...]]:
    """(message, code, fields) of an HTTP-level failure; Tryton sends HTML there."""
    reason = response.reason_phrase or "error"
    hints = {
        401: "the session is not valid (expired or logged out) or the login was refused",
        403: "the method is not exposed over RPC",
        404: "no such database",
        429: "too many login attempts",
    }
    hint = hints.get(response.status_code)
    return (f"{reason}: {hint}" if hint else reason), None, ()


def _fields_of(domain: Any) -> tuple[str, ...]:
    # A domain validation error carries [domain, {field: definition}].
    if isinstance(domain, list) and len(domain) == 2 and isinstance(domain[1], dict):
        return tuple(str(k) for k in domain[1])
    return ()


def error_for(system: str, method: str, error: Any) -> ConnectorError:
    """The Interlock error for a JSON-RPC ``error`` member.

    ``UserError`` (and its kin ``AccessError``, ``ValidationError``...) is a refusal that
    a retry will not change; ``ConcurrencyException`` passes. Any other exception is a
    server fault: the transaction was rolled back, so a retry is safe.
    """
    name = error[0] if isinstance(error, list) and error else None
    args = error[1] if isinstance(error, list) and len(error) > 1 else None
    if name == "UserError" and isinstance(args, list) and args:
        message = str(args[0])
        if len(args) > 1 and args[1]:
            message += f" ({args[1]})"
        fields = _fields_of(args[2]) if len(args) > 2 else ()
        return RecordRejected(system, f"{method}: {message}", code=name, fields=fields)
    if name == "UserWarning" and isinstance(args, list) and len(args) > 1:
        return RecordRejected(system, f"{method}: warning {args[1]}", code=name)
    if name == "ConcurrencyException":
        return ConnectorUnavailable(system, f"{method}: {args}", code=name)
    if name == "LoginException":
        return AuthenticationFailed(system, f"{method}: the login needs more input", code=name)
    return ConnectorUnavailable(system, f"{method}: server error {name}", code="ServerError")
