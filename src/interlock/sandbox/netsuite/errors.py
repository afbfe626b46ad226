"""NetSuite's error document (``nsError``) and the exception handlers raise to send one."""

from __future__ import annotations

import orjson
from starlette.responses import Response

ERROR_MEDIA_TYPE = "application/vnd.oracle.resource+json; type=error"

_RFC2616 = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
_STATUS: dict[int, tuple[str, str]] = {
    400: ("Bad Request", f"{_RFC2616}#sec10.4.1"),
    401: ("Unauthorized", f"{_RFC2616}#sec10.4.2"),
    403: ("Forbidden", f"{_RFC2616}#sec10.4.4"),
    404: ("Not Found", f"{_RFC2616}#sec10.4.5"),
    405: ("Method Not Allowed", f"{_RFC2616}#sec10.4.6"),
    409: ("Conflict", f"{_RFC2616}#sec10.4.10"),
    429: ("Too Many Requests", "https://tools.ietf.org/html/rfc6585#section-4"),
    500: ("Internal Server Error", f"{_RFC2616}#sec10.5.1"),
    502: ("Bad Gateway", f"{_RFC2616}#sec10.5.3"),
    503: ("Service Unavailable", f"{_RFC2616}#sec10.5.4"),
    504: ("Gateway Timeout", f"{_RFC2616}#sec10.5.5"),
}

INVALID_LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)

# Codes and details the fault middleware answers with, per status.
_FAULT_DETAILS: dict[int, tuple[str, str]] = {
    400: ("INVALID_CONTENT", "Error while accessing a resource."),
    401: ("INVALID_LOGIN", INVALID_LOGIN_DETAIL),
    403: ("INSUFFICIENT_PERMISSION", "Permission Violation: you do not have access."),
    404: ("NONEXISTENT_ID", "The record instance does not exist."),
    429: (
        "SSS_REQUEST_LIMIT_EXCEEDED",
        "Request blocked: the account has reached its concurrent request limit.",
    ),
}


class NsError(Exception):
    """A request the emulated account refuses, rendered as NetSuite's error document.

    Args:
        status: HTTP status.
        detail: Human-readable ``detail``.
        code: ``o:errorCode``.
        path: ``o:errorPath``: the JSON path of the offending body field.
        query_param: ``o:errorQueryParam``: the offending query parameter.
        header: ``o:errorHeader``: the offending request header.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        code: str,
        *,
        path: str | None = None,
        query_param: str | None = None,
        header: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.path = path
        self.query_param = query_param
        self.header = header

    def document(self) -> dict[str, object]:
        item: dict[str, str] = {"detail": self.detail, "o:errorCode": self.code}
        if self.path is not None:
            item["o:errorPath"] = self.path
        if self.query_param is not None:
            item["o:errorQueryParam"] = self.query_param
        if self.header is not None:
            item["o:errorHeader"] = self.header
        return _envelope(self.status, [item])

    def response(self) -> Response:
        return Response(orjson.dumps(self.document()), self.status, media_type=ERROR_MEDIA_TYPE)


def _envelope(status: int, details: list[dict[str, str]]) -> dict[str, object]:
    title, kind = _STATUS.get(status, ("Error", _RFC2616))
    return {"type": kind, "title": title, "status": status, "o:errorDetails": details}


def error_body(status: int) -> bytes:
    """The body the fault middleware sends for an injected ``status``."""
    code, detail = _FAULT_DETAILS.get(
        status, ("UNEXPECTED_ERROR", "An unexpected error occurred. Try again later.")
    )
    return orjson.dumps(_envelope(status, [{"detail": detail, "o:errorCode": code}]))
