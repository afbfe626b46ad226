"""The org's API request budget as the connector sees it, and pausing when it is spent.

Every response's ``Sforce-Limit-Info: api-usage=n/limit`` updates ``limits``. When the org
refuses with ``403 REQUEST_LIMIT_EXCEEDED``, the budget (a rolling 24 hours) is spent: the
connector raises ``RateLimited`` with ``retry_after`` = the refusal's ``Retry-After`` (the
Interlock sandbox sends one; Salesforce does not) or ``limit_pause_seconds``, and refuses
further calls itself until then, so neither the engine nor other flows burn retries on it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from interlock.connectors.http import VendorHttp
from interlock.exceptions import ConnectorError, RateLimited
from interlock.quota import Priority

LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
_API_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class ApiLimits:
    """Daily API requests used and allowed, as the org last reported them."""

    used: int
    limit: int

    @property
    def remaining(self) -> int:
        """Requests left in the current window."""
        return max(0, self.limit - self.used)


def parse_limit_info(value: str | None) -> ApiLimits | None:
    """Read ``api-usage=18/5000`` (other parts, e.g. ``per-app-api-usage``, are ignored)."""
    match = _API_USAGE.search(value or "")
    return ApiLimits(int(match[1]), int(match[2])) if match else None


class SalesforceHttp(VendorHttp):
    """``VendorHttp`` that tracks ``Sforce-Limit-Info`` and pauses on an exhausted budget.

    Args:
        pause_seconds: Pause when a ``REQUEST_LIMIT_EXCEEDED`` carries no ``Retry-After``.
        **kwargs: As for ``VendorHttp``.
    """

    def __init__(self, system: str, base_url: str, *, pause_seconds: float, **kwargs: Any):
        super().__init__(system, base_url, **kwargs)
        self.limits: ApiLimits | None = None
        self._pause_seconds = pause_seconds
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.client.event_hooks["response"].append(self._note_limits)

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
        """As ``VendorHttp.request``; raises RateLimited at once while the budget is spent."""
        if auth:  # token requests do not count against the budget
            with self._lock:
                wait = self._paused_until - time.monotonic()
            if wait > 0:
                raise RateLimited(
                    self.system,
                    f"daily API request limit exhausted; paused for {wait:.0f} more seconds",
                    retry_after=wait,
                    status=403,
                    code=LIMIT_EXCEEDED,
                )
        return super().request(
            method,
            url,
            json=json,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            priority=priority,
            write=write,
        )

    def error_for(self, response: httpx.Response) -> ConnectorError:
        """As ``VendorHttp.error_for``; a spent budget also starts the pause."""
        error = super().error_for(response)
        if isinstance(error, RateLimited) and error.status == 403 and error.code == LIMIT_EXCEEDED:
            if error.retry_after is None:
                error.retry_after = self._pause_seconds
            with self._lock:
                self._paused_until = time.monotonic() + error.retry_after
        return error

    def _note_limits(self, response: httpx.Response) -> None:
        limits = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if limits is not None:
            self.limits = limits
