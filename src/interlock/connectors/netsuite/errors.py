"""Reading NetSuite's error documents, for ``VendorHttp``."""

from __future__ import annotations

import httpx
import orjson

CONCURRENCY_CODES = frozenset(
    {"SSS_REQUEST_LIMIT_EXCEEDED", "CONCURRENCY_LIMIT_EXCEEDED", "WS_REQUEST_BLOCKED"}
)
"""Codes of a concurrency rejection. RESTlets send them with 400, so we do not rely on 429."""


def read_error(response: httpx.Response) -> tuple[str, str | None, tuple[str, ...]]:
    """(message, ``o:errorCode``, ``o:errorPath`` fields) of an ``nsError`` document.

    Also reads the token endpoint's OAuth errors (``{"error", "error_description"}``).
    Raises ValueError for anything else, so the caller falls back to the status alone.
    """
    body = orjson.loads(response.content)
    if not isinstance(body, dict):
        raise ValueError("not a NetSuite error document")
    details = body.get("o:errorDetails")
    if isinstance(details, list) and details:
        items = [d for d in details if isinstance(d, dict)]
        message = "; ".join(str(d.get("detail", "")) for d in items) or str(body.get("title"))
        code = items[0].get("o:errorCode") if items else None
        fields = tuple(str(d["o:errorPath"]) for d in items if d.get("o:errorPath"))
        return message, str(code) if code else None, fields
    if isinstance(body.get("error"), str):
        return str(body.get("error_description") or body["error"]), body["error"], ()
    if "title" in body:
        return str(body["title"]), None, ()
    raise ValueError("not a NetSuite error document")
