"""Float v3 wire shapes: errors, bare-array lists and the ``X-Pagination-*`` headers.

Float's error bodies are not documented [FL-RESP]. Float runs on Yii2, so the emulator answers
Yii2's REST shapes: a 422 is a bare array ``[{"field", "message"}]``, every other error is
``{"name", "message", "code", "status"}`` (both [UNVERIFIED], see vendor-apis.md §3.1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from starlette.responses import Response

DEFAULT_PER_PAGE = 50  # [3P FL-SKILL]
MAX_PER_PAGE = 200  # [3P FL-SKILL]

Problem = dict[str, str]


class ApiError(Exception):
    """An error answer: HTTP status, message, and the field problems of a 422."""

    def __init__(
        self,
        status: int,
        message: str,
        problems: list[Problem] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.problems = problems or []
        self.headers = dict(headers or {})


def invalid(problems: list[Problem]) -> ApiError:
    """A 422 with Yii2's validation array."""
    return ApiError(422, "Data Validation Failed.", problems)


def not_found(kind: str, record_id: str) -> ApiError:
    return ApiError(404, f"{kind} {record_id} not found")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def error_document(status: int, message: str) -> dict[str, Any]:
    """Yii2's body of a non-validation error."""
    try:
        name = HTTPStatus(status).phrase
    except ValueError:
        name = "Error"
    return {"name": name, "message": message, "code": 0, "status": status}


def error_response(exc: ApiError) -> Response:
    body: Any = exc.problems if exc.status == 422 else error_document(exc.status, exc.message)
    return JsonResponse(body, status_code=exc.status, headers=exc.headers)


def fault_body(status: int) -> bytes:
    """Body the fault middleware answers with, in the emulator's error shape."""
    messages = {
        401: "Your request was made with invalid credentials.",
        429: "Too many requests by this user.",
    }
    return orjson.dumps(error_document(status, messages.get(status, f"HTTP {status}")))


class JsonResponse(Response):
    """A JSON response encoded with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Page:
    """The slice of a list to answer, from ``page`` (1-based) and ``per-page``.

    Like Yii2's ``Pagination``, a size outside 1..200 is clamped and a page past the last is
    answered with the last page [UNVERIFIED: Yii2 default]: clients stop by
    ``X-Pagination-Page-Count``, not by an empty page.
    """

    def __init__(self, query: Mapping[str, str]) -> None:
        self.size = min(MAX_PER_PAGE, max(1, _integer(query.get("per-page"), DEFAULT_PER_PAGE)))
        self.asked = max(1, _integer(query.get("page"), 1))

    def answer(self, records: list[dict[str, Any]]) -> Response:
        """The page as a bare JSON array with the pagination headers."""
        total = len(records)
        pages = math.ceil(total / self.size)
        number = min(self.asked, max(pages, 1))
        start = (number - 1) * self.size
        headers = {
            "X-Pagination-Total-Count": str(total),
            "X-Pagination-Page-Count": str(pages),
            "X-Pagination-Current-Page": str(number),
            "X-Pagination-Per-Page": str(self.size),
        }
        return JsonResponse(records[start : start + self.size], headers=headers)


def _integer(value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        return 0
