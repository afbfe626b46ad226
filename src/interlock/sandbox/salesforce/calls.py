"""What every REST call of the emulated org shares: its body, its type names, its transaction.

A call's writes run in one transaction acting as the session's user, with the
``changeOrigin`` Salesforce gives API writes: ``com/salesforce/api/rest/<version>``, plus
``;client=<id>`` when the request names a client in ``Sforce-Call-Options: client=<id>``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import orjson
from starlette.requests import Request

from interlock.sandbox.salesforce.errors import ApiError
from interlock.sandbox.salesforce.state import SalesforceState
from interlock.sandbox.salesforce.writes import sobject_type


def change_origin(version: str, call_options: str) -> str:
    """The ``changeOrigin`` of a REST write, from the ``Sforce-Call-Options`` header."""
    origin = f"com/salesforce/api/rest/{version}"
    for option in call_options.split(","):
        name, _, value = option.strip().partition("=")
        if name.strip() == "client" and value.strip():
            return f"{origin};client={value.strip()}"
    return origin


def call_transaction(request: Request, state: SalesforceState) -> AbstractContextManager[None]:
    """The transaction a call's writes run in (as the session user, with its origin)."""
    return state.transaction(origin=request.state.origin, user_id=request.state.user_id)


async def json_body(request: Request, expect: type = dict) -> Any:
    """The request's JSON body, which must be an object (or ``expect``). Raises ApiError."""
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from None
    if not isinstance(data, expect):
        token = "START_ARRAY" if isinstance(data, list) else "VALUE"
        raise ApiError(
            400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of sObject out of {token} token"
        )
    return data


def type_name(name: str) -> str:
    """The declared name of an sObject type given in any case. Raises ApiError(404)."""
    return sobject_type(name).name


def api_version(version: str) -> float:
    """``62.0`` → 62.0 (the route checked the form)."""
    return float(version)
