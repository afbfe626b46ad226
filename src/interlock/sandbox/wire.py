"""Request reading shared by the sandboxes; each answers errors in its own vendor's shape."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from starlette.requests import Request


class BodyError(ValueError):
    """The request body is not a JSON object; ``reason`` says how."""

    def __init__(self, reason: Literal["not_json", "not_object"]) -> None:
        super().__init__(reason)
        self.reason = reason


async def json_object(request: Request, *, empty_is_object: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, or BodyError (the caller words the vendor error)."""
    raw = await request.body()
    if empty_is_object and not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BodyError("not_json") from None
    if not isinstance(body, dict):
        raise BodyError("not_object")
    return body


def bearer_token(request: Request, schemes: tuple[str, ...] = ("bearer",)) -> str | None:
    """The token of an ``Authorization: <scheme> <token>`` header, or None.

    None when the scheme is not one of ``schemes`` (lower case) or the token is empty.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() in schemes else None
