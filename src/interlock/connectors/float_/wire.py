"""Reading Float's wire format: error bodies and the ``X-Pagination-*`` headers."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

Record = dict[str, Any]


def read_error(response: httpx.Response) -> tuple[str, str | None, tuple[str, ...]]:
    """Float's error body → (message, code, fields).

    Float does not document it: a 422 is most likely Yii2's ``[{"field", "message"}]``, other
    errors ``{"name", "message", ...}``; some clients also see ``error`` or ``errors[]``
    (vendor-apis.md §3.1). All of them are read.
    """
    body = orjson.loads(response.content)
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        body = body["errors"]
    if isinstance(body, list):
        problems = [p for p in body if isinstance(p, dict)]
        fields = tuple(str(p["field"]) for p in problems if p.get("field"))
        text = "; ".join(
            f"{p['field']}: {p.get('message', '')}" if p.get("field") else str(p.get("message"))
            for p in problems
        )
        return text or "validation failed", "validation", fields
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or f"HTTP {response.status_code}"
        name = body.get("name")
        return str(message), (str(name) if name else None), ()
    raise ValueError("not a Float error body")


def page_count(response: httpx.Response) -> int | None:
    """``X-Pagination-Page-Count``, or None when Float did not send it."""
    value = response.headers.get("X-Pagination-Page-Count")
    return int(value) if value is not None and value.strip().isdigit() else None
