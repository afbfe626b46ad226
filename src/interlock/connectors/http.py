"""HTTP plumbing shared by connectors: one client, vendor errors translated at the boundary.

No ``httpx`` exception leaves this module. Each vendor passes a function that reads its own
error body; the status code decides the exception type, so the engine can classify by type.

Given ``limits`` (a connector config's quota fields) or a ``budget``, every authenticated
request first takes a permit from the system's request budget (``interlock.quota``): reads
count against read windows, writes against write windows; a 429 or limit answer pauses the
budget for its Retry-After, and usage headers are learned.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from interlock.exceptions import (
    AuthenticationFailed,
    ConnectorError,
    ConnectorUnavailable,
    MalformedResponse,
    OutcomeUnknown,
    RateLimited,
    RecordNotFound,
    RecordRejected,
)
from interlock.quota import Budget, Limits, Priority, QuotaSettings, budgets, current_priority

ErrorReader = Callable[[httpx.Response], tuple[str, str | None, tuple[str, ...]]]
"""Reads a vendor error response into (message, vendor error code, fields)."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time())


@dataclass(frozen=True)
class _Permit:
    priority: Priority
    write: bool


def _default_error_reader(response: httpx.Response) -> tuple[str, str | None, tuple[str, ...]]:
    return (f"HTTP {response.status_code}", None, ())


class VendorHttp:
    """A small wrapper over ``httpx.Client`` that turns failures into Interlock errors.

    Args:
        system: Name of the connected system, used in every error.
        base_url: Root URL of the vendor API.
        read_error: Reads the vendor's error body.
        timeout: Seconds for connect and read.
        auth_headers: Called before each request for fresh auth headers.
        on_unauthorized: Called once on a 401 to refresh credentials; the request is repeated.
        headers: Sent with every request.
        read_retries: Inline retries of a read that failed transiently.
        max_inline_wait: Longest wait before an inline retry.
        budget: The request budget to draw from. Else the one registered for ``system`` in
            ``interlock.quota.budgets``, else one built from ``limits``.
        limits: Quota settings (a ``ConnectorConfig`` has them) or ``Limits``; the system's
            shared budget is taken from ``interlock.quota.budgets``. Token requests
            (``auth=False``) are not metered.
        default_priority: Priority of requests that name none and run outside any
            ``interlock.quota.prioritized`` block.
    """

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        read_error: ErrorReader = _default_error_reader,
        timeout: float = 30.0,
        auth_headers: Callable[[], Mapping[str, str]] | None = None,
        on_unauthorized: Callable[[], None] | None = None,
        headers: Mapping[str, str] | None = None,
        read_retries: int = 2,
        max_inline_wait: float = 2.0,
        budget: Budget | None = None,
        limits: QuotaSettings | Limits | None = None,
        default_priority: Priority = Priority.DEFAULT,
    ) -> None:
        self.system = system
        if budget is None:
            budget = budgets.registered(system)
        if budget is None and limits is not None:
            if not isinstance(limits, Limits):
                limits = Limits.from_settings(limits, timeout=timeout)
            budget = budgets.for_system(system, limits, base_url)
        self.budget = budget
        self.default_priority = default_priority
        self.read_retries = read_retries
        self.max_inline_wait = max_inline_wait
        self._read_error = read_error
        self._auth_headers = auth_headers
        self._on_unauthorized = on_unauthorized
        self.client = httpx.Client(base_url=base_url, timeout=timeout, headers=dict(headers or {}))

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        priority: Priority | None = None,
        write: bool | None = None,
    ) -> httpx.Response:
        """Send a request; return the response when 2xx or 3xx, raise a ConnectorError else.

        Reads (GET, HEAD) that fail transiently are tried again here, up to ``read_retries``
        times, when the wait asked for is short; everything else is left to the engine, whose
        retries are durable and whose writes are checked before they are repeated.

        Args:
            method: HTTP method.
            url: Path under the base URL, or an absolute URL.
            json: Body to send as JSON.
            params: Query parameters.
            data: Form body.
            headers: Extra headers.
            auth: Send auth headers (and draw from the budget).
            priority: Budget priority; else the enclosing ``prioritized`` block's, else
                ``default_priority``.
            write: Counts against write windows; by default every method but GET/HEAD/OPTIONS
                (a query sent by POST can say ``write=False``).
        """
        if priority is None:
            priority = current_priority()
        permit = _Permit(
            self.default_priority if priority is None else priority,
            method.upper() not in _SAFE_METHODS if write is None else write,
        )
        for attempt in range(self.read_retries + 1):
            try:
                return self._once(
                    method,
                    url,
                    json=json,
                    params=params,
                    data=data,
                    headers=headers,
                    auth=auth,
                    permit=permit,
                )
            except (ConnectorUnavailable, RateLimited) as exc:
                wait = self._inline_wait(method, exc, attempt)
                if wait is None:
                    raise
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _inline_wait(self, method: str, exc: ConnectorError, attempt: int) -> float | None:
        if method.upper() not in _SAFE_METHODS or attempt >= self.read_retries:
            return None
        wait = exc.retry_after if isinstance(exc, RateLimited) else None
        wait = 0.05 * 2**attempt if wait is None else wait
        return wait if wait <= self.max_inline_wait else None

    def _once(
        self,
        method: str,
        url: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        auth: bool,
        permit: _Permit,
    ) -> httpx.Response:
        def send() -> httpx.Response:
            if self.budget is None or not auth:
                return self._send(
                    method, url, json=json, params=params, data=data, headers=headers, auth=auth
                )
            with self.budget.acquire(permit.priority, write=permit.write) as lease:
                response = self._send(
                    method, url, json=json, params=params, data=data, headers=headers, auth=auth
                )
                lease.learn(response.headers)
                return response

        response = send()
        if response.status_code == 401 and auth and self._on_unauthorized is not None:
            self._on_unauthorized()
            response = send()
        if response.status_code >= 400:
            error = self.error_for(response)
            if isinstance(error, RateLimited) and self.budget is not None:
                pause = error.retry_after
                self.budget.pause_for(self.budget.limits.default_pause if pause is None else pause)
            raise error
        return response

    def _send(
        self,
        method: str,
        url: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        auth: bool,
    ) -> httpx.Response:
        merged: dict[str, str] = {}
        if auth and self._auth_headers is not None:
            merged.update(self._auth_headers())
        merged.update(headers or {})
        content = None
        if json is not None:
            content = orjson.dumps(json, default=str)
            merged.setdefault("Content-Type", "application/json")
        try:
            return self.client.request(
                method, url, content=content, params=params, data=data, headers=merged
            )
        except httpx.TimeoutException as exc:
            if method.upper() in _SAFE_METHODS:
                raise ConnectorUnavailable(self.system, f"{method} {url} timed out") from exc
            raise OutcomeUnknown(
                self.system, f"{method} {url} timed out; the write may have happened"
            ) from exc
        except httpx.TransportError as exc:
            kind = type(exc).__name__
            if method.upper() not in _SAFE_METHODS and not isinstance(exc, httpx.ConnectError):
                raise OutcomeUnknown(self.system, f"{method} {url} failed: {kind}") from exc
            raise ConnectorUnavailable(self.system, f"{method} {url} failed: {kind}") from exc

    def error_for(self, response: httpx.Response) -> ConnectorError:
        """The Interlock error for a failed vendor response."""
        try:
            message, code, fields = self._read_error(response)
        except (ValueError, KeyError, TypeError, IndexError):
            message, code, fields = (f"HTTP {response.status_code}", None, ())
        status = response.status_code
        text = f"HTTP {status}: {message}"
        if status == 429:
            return RateLimited(
                self.system,
                text,
                status=status,
                code=code,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status in (401, 403) and code not in (None, "") and "LIMIT" in code.upper():
            return RateLimited(
                self.system,
                text,
                status=status,
                code=code,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status in (401, 403):
            return AuthenticationFailed(self.system, text, status=status, code=code)
        if status == 404:
            return RecordNotFound(self.system, text, status=status, code=code)
        if status >= 500 or status in (408, 409, 423, 425):
            return ConnectorUnavailable(self.system, text, status=status, code=code)
        return RecordRejected(self.system, text, status=status, code=code, fields=fields)

    def json(self, response: httpx.Response) -> Any:
        """Decode a JSON body or raise MalformedResponse.

        The body is not echoed in the error: it may hold personal data.
        """
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise MalformedResponse(
                self.system,
                f"{response.request.method} {response.request.url.path}: "
                f"body is not JSON (HTTP {response.status_code}, {len(response.content)} bytes)",
                status=response.status_code,
            ) from exc

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def expect(system: str, condition: bool, what: str) -> None:
    """Raise MalformedResponse when a vendor response lacks what we rely on."""
    if not condition:
        raise MalformedResponse(system, f"unexpected response: {what}")
