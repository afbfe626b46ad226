"""Salesforce error bodies: a JSON array of ``{"message", "errorCode", "fields"}``."""

from __future__ import annotations

from typing import Any

import orjson

NOT_FOUND = "The requested resource does not exist"
LIMIT_EXCEEDED = "TotalRequests Limit exceeded."


class ApiError(Exception):
    """A refusal the org answers with an error array; raised by the state, rendered by the app.

    Args:
        status: HTTP status.
        code: Salesforce ``errorCode``.
        message: Human-readable message.
        fields: Field names the error is about.
    """

    def __init__(
        self, status: int, code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []

    def body(self) -> list[dict[str, Any]]:
        """The error array."""
        return [error_item(self.message, self.code, self.fields)]


class AmbiguousExternalId(Exception):
    """Several records carry the external id; Salesforce answers 300 with their URLs."""

    def __init__(self, sobject: str, ids: list[str]) -> None:
        super().__init__(f"{len(ids)} {sobject} records match")
        self.sobject = sobject
        self.ids = ids


def error_item(message: str, code: str, fields: list[str] | None = None) -> dict[str, Any]:
    """One entry of an error array; ``fields`` only when there are any, as Salesforce does."""
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields:
        item["fields"] = fields
    return item


_FAULTS: dict[int, tuple[str, str]] = {
    400: ("Bad request", "JSON_PARSER_ERROR"),
    401: ("Session expired or invalid", "INVALID_SESSION_ID"),
    403: (LIMIT_EXCEEDED, "REQUEST_LIMIT_EXCEEDED"),
    404: (NOT_FOUND, "NOT_FOUND"),
    429: (LIMIT_EXCEEDED, "REQUEST_LIMIT_EXCEEDED"),
    500: (
        "An unexpected error occurred. Please include this ErrorId if you contact "
        "support: 1930519847-50871 (-1205184398)",
        "UNKNOWN_EXCEPTION",
    ),
    503: ("Server is unavailable", "SERVER_UNAVAILABLE"),
}


def fault_body(status: int) -> bytes:
    """Error body for an injected fault, in Salesforce's shape."""
    message, code = _FAULTS.get(status, (f"HTTP {status}", "UNKNOWN_EXCEPTION"))
    return orjson.dumps([error_item(message, code)])
