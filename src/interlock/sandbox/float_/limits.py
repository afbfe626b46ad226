"""Float's request budget: GETs and writes per rolling minute, per token [FL-AUTH].

Each token has a log of the times of its accepted requests, one for reads and one for
writes. A request is refused when the log already holds the budget's worth of requests
within the window; refused requests do not count. The emulator answers ``Retry-After``
with the seconds until the oldest logged request leaves the window [UNVERIFIED: Float
documents no rate-limit headers].
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Log:
    times: deque[float] = field(default_factory=deque)
    rejected: int = 0
    peak: int = 0
    total: int = 0


class RollingLimits:
    """Per-token rolling-window budgets. Not thread-safe: the state's lock guards it.

    Args:
        reads: GET requests allowed per window; None for no limit.
        writes: Non-GET requests allowed per window; None for no limit.
        window: Length of the window in seconds.
    """

    def __init__(self, reads: int | None, writes: int | None, window: float = 60.0) -> None:
        self.reads = reads
        self.writes = writes
        self.window = window
        self._logs: dict[tuple[str, bool], _Log] = {}

    def spend(self, token: str, write: bool, now: float) -> float | None:
        """Count one request; None when allowed, else the seconds to wait (Retry-After)."""
        log = self._logs.setdefault((token, write), _Log())
        self._prune(log, now)
        budget = self.writes if write else self.reads
        if budget is not None and len(log.times) >= budget:
            log.rejected += 1
            wait = log.times[0] + self.window - now if log.times else self.window
            return float(max(1, math.ceil(wait)))
        log.times.append(now)
        log.total += 1
        log.peak = max(log.peak, len(log.times))
        return None

    def usage(self, token: str, now: float) -> dict[str, int]:
        """Counters of ``token``: requests in the current window, totals, refusals, peaks."""
        counts: dict[str, int] = {}
        for write, name in ((False, "reads"), (True, "writes")):
            log = self._logs.setdefault((token, write), _Log())
            self._prune(log, now)
            counts[name] = len(log.times)
            counts[f"{name}_total"] = log.total
            counts[f"{name}_rejected"] = log.rejected
            counts[f"{name}_peak"] = log.peak
        return counts

    def _prune(self, log: _Log, now: float) -> None:
        while log.times and log.times[0] <= now - self.window:
            log.times.popleft()
