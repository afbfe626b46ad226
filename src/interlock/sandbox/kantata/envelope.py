"""Kantata OX wire shapes: the keyed response envelope, paging and the ``errors`` body."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 20


class ApiError(Exception):
    """An error answer: HTTP status plus Kantata's ``errors`` list."""

    def __init__(self, status: int, errors: list[dict[str, str]]) -> None:
        super().__init__(f"HTTP {status}: {errors}")
        self.status = status
        self.errors = errors


def error(kind: str, message: str, field: str | None = None) -> dict[str, str]:
    """One entry of the ``errors`` list; ``kind`` is ``oauth``, ``system`` or ``validation``."""
    entry = {"type": kind, "message": message}
    if field is not None:
        entry["field"] = field
    return entry


def validation(message: str, field: str) -> dict[str, str]:
    return error("validation", message, field)


def bad_request(message: str) -> ApiError:
    return ApiError(400, [error("system", message)])


def not_found(key: str, record_id: str) -> ApiError:
    return ApiError(404, [error("system", f"{key} {record_id} not found")])


def error_body(errors: list[dict[str, str]]) -> bytes:
    return orjson.dumps({"errors": errors})


def fault_body(status: int) -> bytes:
    """Body the fault middleware answers with, in Kantata's shape."""
    if status == 401:
        return error_body([error("oauth", "Invalid OAuth 2 Request")])
    if status == 429:
        return error_body([error("system", "Too many requests")])
    return error_body([error("system", f"The server answered HTTP {status}")])


class JsonResponse(Response):
    """A JSON response encoded with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(exc: ApiError) -> JsonResponse:
    return JsonResponse({"errors": exc.errors}, status_code=exc.status)


class Page:
    """Which slice of a result list to answer: ``page``/``per_page`` or ``limit``/``offset``."""

    def __init__(self, query: Mapping[str, str]) -> None:
        if "limit" in query and "offset" in query:
            # limit/offset take precedence over page/per_page when both are given [3P KT-CONV].
            self.size = _bounded(_integer(query, "limit", 0), 1, MAX_PER_PAGE)
            self.offset = max(0, _integer(query, "offset", 0))
            self.number = self.offset // self.size + 1
        else:
            self.size = _bounded(_integer(query, "per_page", DEFAULT_PER_PAGE), 1, MAX_PER_PAGE)
            self.number = max(1, _integer(query, "page", 1))
            self.offset = (self.number - 1) * self.size

    def cut(self, items: list[Any]) -> list[Any]:
        return items[self.offset : self.offset + self.size]

    def meta(self, total: int) -> dict[str, int]:
        return {
            "count": total,
            "page_count": math.ceil(total / self.size),
            "page_number": self.number,
            "page_size": self.size,
        }


def _integer(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer") from None


def _bounded(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def envelope(
    key: str,
    records: list[dict[str, Any]],
    *,
    total: int | None = None,
    page: Page | None = None,
    included: Mapping[str, Mapping[str, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The standard envelope: ``count``, ``meta``, ``results`` and one keyed map per type.

    ``results`` keeps the order of ``records`` (which may repeat an id, as a duplicated event
    delivery does); the keyed map holds each object once.
    """
    count = len(records) if total is None else total
    meta = (
        page.meta(count)
        if page
        else {
            "count": count,
            "page_count": 1 if count else 0,
            "page_number": 1,
            "page_size": max(len(records), 1),
        }
    )
    body: dict[str, Any] = {
        "count": count,
        "meta": meta,
        "results": [{"key": key, "id": r["id"]} for r in records],
        key: {r["id"]: r for r in records},
    }
    for other, objects in (included or {}).items():
        merged = body.setdefault(other, {})
        for object_id, obj in objects.items():
            merged.setdefault(object_id, obj)
    return body
