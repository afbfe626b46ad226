"""Retry policy: exponential backoff with full jitter, capped, honouring Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass

from interlock.exceptions import InterlockError, RateLimited


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a step is retried.

    Attributes:
        max_attempts: Attempts in all, including the first.
        base_seconds: Delay before the second attempt (before jitter).
        max_seconds: Cap on any delay.
    """

    max_attempts: int = 6
    base_seconds: float = 1.0
    max_seconds: float = 300.0

    def delay(self, attempt: int, error: BaseException, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(self.max_seconds, error.retry_after)
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        return (rng or random).uniform(ceiling / 2, ceiling)

    def should_retry(self, attempt: int, error: BaseException) -> bool:
        """True when ``error`` is retryable and attempts remain."""
        retryable = isinstance(error, InterlockError) and error.retryable
        return retryable and attempt < self.max_attempts
