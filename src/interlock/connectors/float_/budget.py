"""Client-side pacing so the connector stays inside Float's per-minute budgets.

Float allows 200 GETs and 100 other requests per rolling minute [FL-AUTH] and answers 429
past them. Each ``FloatConnector`` paces itself with two token buckets: ``burst`` requests
may go back to back, the rest refill evenly at ``(limit - burst) / (window + margin)`` per
second. In any window the bucket lets through at most ``burst + refill × window`` requests,
which the margin keeps below ``limit`` even when requests arrive a little later or sooner
than they left. A 429 empties the bucket for its Retry-After.

A shared, cross-process budget can sit on top: ``RequestBudget`` is the one interface the
connector calls (``acquire`` before each request, ``pause`` after a 429).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RequestBudget(Protocol):
    """What the connector asks before sending and tells after a 429."""

    def acquire(self, method: str) -> None:
        """Block until a request with ``method`` may go out."""

    def pause(self, method: str, seconds: float) -> None:
        """Send nothing of ``method``'s class for ``seconds`` (the vendor asked us to wait)."""


class TokenBucket:
    """A thread-safe token bucket; ``take`` blocks (via ``sleep``) until a token is free.

    Args:
        limit: Requests allowed per window; at least 2.
        window: The vendor's window in seconds.
        burst: Tokens the bucket holds when full (at most ``limit - 1``).
        margin: Seconds added to the window when computing the refill rate.
        clock: Monotonic seconds.
        sleep: Waits the given seconds.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        burst: int = 1,
        *,
        margin: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if limit < 2:
            raise ValueError("a token bucket needs a limit of at least 2 per window")
        self.capacity = float(max(1, min(burst, limit - 1)))
        self.rate = (limit - self.capacity) / (window + margin)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._at = clock()

    def take(self) -> float:
        """Reserve one token, wait until it is due; the seconds waited."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def drain(self, seconds: float) -> None:
        """Owe ``seconds`` worth of tokens: nothing goes out before they have passed."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0) - seconds * self.rate

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now


class PerMinuteBudget:
    """Float's two budgets for one connector: GETs and writes, each a ``TokenBucket``."""

    def __init__(
        self,
        reads: int,
        writes: int,
        *,
        read_burst: int = 5,
        write_burst: int = 2,
        window: float = 60.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.reads = TokenBucket(reads, window, read_burst, clock=clock, sleep=sleep)
        self.writes = TokenBucket(writes, window, write_burst, clock=clock, sleep=sleep)

    def bucket(self, method: str) -> TokenBucket:
        """The bucket a request with ``method`` draws from."""
        return self.reads if method.upper() in ("GET", "HEAD") else self.writes

    def acquire(self, method: str) -> None:
        """Block until a request with ``method`` may go out."""
        self.bucket(method).take()

    def pause(self, method: str, seconds: float) -> None:
        """Hold back ``method``'s class of requests for ``seconds``."""
        self.bucket(method).drain(seconds)
