"""The budget interface: acquire a permit to send one request, learn from what came back.

A backend answers one question, ``_attempt``: may this request go now, and if not, how long
until it might? The waiting, the max-wait rule and the ``RateLimited`` raised instead of a
long wait are the same for every backend and live here.
"""

from __future__ import annotations

import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from interlock.exceptions import RateLimited
from interlock.quota.headers import Learned, read_limit_headers
from interlock.quota.limits import Limits, Priority

Clock = Callable[[], float]
"""Seconds since the Unix epoch (shared backends compare it across processes)."""

QUOTA_CODE = "QUOTA_BUDGET"
"""``RateLimited.code`` when our own budget, not the vendor, refused the request."""

_tickets = itertools.count(1)


@dataclass
class Ticket:
    """One request asking for a permit; backends keep their bookkeeping in ``held``."""

    priority: Priority
    write: bool
    since: float
    seq: int = field(default_factory=lambda: next(_tickets))
    held: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """Answer of one attempt: admitted, or blocked with the known wait (None = unknown)."""

    admitted: bool
    wait: float | None = None
    reason: str = ""


ADMITTED = Verdict(True)


def blocked(waits: list[float | None], reasons: list[str]) -> Verdict:
    """One verdict for several blocking constraints: all must clear, so the longest wait."""
    known = [w for w in waits if w is not None]
    return Verdict(False, max(known) if known else None, "; ".join(reasons))


class Lease:
    """A permit for one request; leave the ``with`` block (or ``release()``) when answered."""

    def __init__(self, budget: Budget, ticket: Ticket) -> None:
        self.budget = budget
        self.ticket = ticket
        self._released = False

    def learn(self, headers: Mapping[str, str]) -> None:
        """Take in the answer's usage headers; a shared budget stores them with the release."""
        learned = read_limit_headers(headers, self.budget.clock())
        if learned is None:
            return
        if self.budget.learns_on_release and not self._released:
            self.ticket.held["learned"] = learned
        else:
            self.budget._learn(learned)

    def release(self) -> None:
        """Give the permit back (once; later calls do nothing)."""
        if not self._released:
            self._released = True
            self.budget._release(self.ticket)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class Budget(ABC):
    """The request budget of one external system, shared by every flow using it.

    ``learns_on_release``: a backend that sets it takes usage headers given to
    ``Lease.learn`` in with the release (one round trip instead of two).

    Args:
        system: Name of the system, as in the topology.
        limits: What to enforce.
        clock: Current time in seconds since the epoch.
        poll: Longest sleep between two attempts of a waiting request.
    """

    learns_on_release = False

    def __init__(
        self, system: str, limits: Limits, *, clock: Clock = time.time, poll: float = 0.25
    ) -> None:
        self.system = system
        self.limits = limits
        self.clock = clock
        self.poll = poll

    def acquire(
        self,
        priority: Priority = Priority.DEFAULT,
        *,
        write: bool = False,
        max_wait: float | None = None,
    ) -> Lease:
        """Wait for a permit to send one request; use the result as a context manager.

        Args:
            priority: Higher classes are served first while the budget is scarce.
            write: The request changes data (counts against write windows).
            max_wait: Longest wait accepted; defaults to ``limits.max_wait``.

        Raises:
            RateLimited: The wait would be longer than ``max_wait`` (a window or the vendor's
                quota refills later, or the vendor asked us to pause); ``retry_after`` says
                when to come back. Raised at once, without waiting.
        """
        patience = self.limits.max_wait if max_wait is None else max_wait
        ticket = Ticket(priority, write, self.clock())
        self._enqueue(ticket)
        try:
            while True:
                verdict = self._attempt(ticket)
                if verdict.admitted:
                    return Lease(self, ticket)
                left = ticket.since + patience - self.clock()
                if verdict.wait is not None and verdict.wait > left:
                    raise self._refusal(verdict, verdict.wait)
                if left <= 0:
                    raise self._refusal(verdict, verdict.wait or self.limits.default_pause)
                wait = self.poll if verdict.wait is None else verdict.wait
                self._sleep(ticket, max(0.0, min(wait, left, self.poll)))
        finally:
            self._dequeue(ticket)

    def pause_for(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (the vendor said 429 / Retry-After)."""
        self.pause_until(self.clock() + seconds)

    def learn(self, headers: Mapping[str, str]) -> None:
        """Take in the vendor's usage headers (Sforce-Limit-Info, X-RateLimit-*), if any."""
        learned = read_limit_headers(headers, self.clock())
        if learned is not None:
            self._learn(learned)

    def _refusal(self, verdict: Verdict, retry_after: float) -> RateLimited:
        return RateLimited(
            self.system,
            f"request budget: {verdict.reason or 'no permit'}; retry in {retry_after:.1f} s",
            retry_after=retry_after,
            code=QUOTA_CODE,
        )

    @abstractmethod
    def pause_until(self, until: float) -> None:
        """Send nothing before ``until`` (clock time); an earlier pause never shortens one."""

    @abstractmethod
    def snapshot(self) -> dict[str, Any]:
        """Current usage, for status pages and tests."""

    @abstractmethod
    def _learn(self, learned: Learned) -> None: ...

    @abstractmethod
    def _attempt(self, ticket: Ticket) -> Verdict: ...

    @abstractmethod
    def _release(self, ticket: Ticket) -> None: ...

    @abstractmethod
    def _enqueue(self, ticket: Ticket) -> None: ...

    @abstractmethod
    def _dequeue(self, ticket: Ticket) -> None: ...

    @abstractmethod
    def _sleep(self, ticket: Ticket, seconds: float) -> None: ...
