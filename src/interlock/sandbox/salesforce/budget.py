"""The org's daily API request budget, as a rolling 24-hour window.

Salesforce counts API requests per org over the last 24 hours and refuses more with
``403 REQUEST_LIMIT_EXCEEDED``. Salesforce sends no ``Retry-After`` with that refusal; the
emulator does (an Interlock sandbox choice), with the seconds until the oldest counted
request leaves the window, so clients can test that they pause instead of retrying.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import deque
from collections.abc import Callable

WINDOW = dt.timedelta(hours=24)


class DailyBudget:
    """Requests counted over a rolling 24 h window of the org's clock; thread-safe.

    Args:
        limit: Requests allowed per window.
        clock: The org's clock.
    """

    def __init__(self, limit: int, clock: Callable[[], dt.datetime]) -> None:
        self.limit = limit
        self._clock = clock
        self._spent: deque[dt.datetime] = deque()
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        """Requests counted in the current window."""
        with self._lock:
            self._forget(self._clock())
            return len(self._spent)

    def header(self) -> str:
        """The ``Sforce-Limit-Info`` header value."""
        return f"api-usage={self.used}/{self.limit}"

    def spend(self) -> bool:
        """Count one request; False (and not counted) when the window is full."""
        with self._lock:
            now = self._clock()
            self._forget(now)
            if len(self._spent) >= self.limit:
                return False
            self._spent.append(now)
            return True

    def retry_after(self) -> int:
        """Whole seconds until a request would be accepted again (0 when it would be now)."""
        with self._lock:
            now = self._clock()
            self._forget(now)
            if len(self._spent) < self.limit:
                return 0
            if self.limit <= 0:
                return int(WINDOW.total_seconds())
            # the slot comes free when the request (used - limit) places from the oldest leaves
            frees = self._spent[len(self._spent) - self.limit]
            return max(1, math.ceil((frees + WINDOW - now).total_seconds()))

    def _forget(self, now: dt.datetime) -> None:
        while self._spent and self._spent[0] <= now - WINDOW:
            self._spent.popleft()
