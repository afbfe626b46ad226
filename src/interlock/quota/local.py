"""The in-process budget: exact, for one worker process and for tests."""

from __future__ import annotations

import bisect
import threading
import time
from typing import Any

from interlock.quota.budget import ADMITTED, Budget, Clock, Ticket, Verdict, blocked
from interlock.quota.headers import Learned
from interlock.quota.learned import LearnedQuota, tracking_window
from interlock.quota.limits import Limits, Window


class LocalBudget(Budget):
    """A budget held in this process, shared by its threads.

    Waiting requests are served strictly by priority, then in arrival order: each one waiting
    ahead of a request keeps one unit of every limit they share, unless it is itself held
    back by time (a pause, a full window), which no free slot would cure.

    Windows keep the end time of every answered request, so they are exact.
    """

    def __init__(
        self, system: str, limits: Limits, *, clock: Clock = time.time, poll: float = 0.25
    ) -> None:
        super().__init__(system, limits, clock=clock, poll=poll)
        self._cond = threading.Condition()
        self._generation = 0
        self._in_flight = 0
        self._pending = {w.name: 0 for w in limits.windows}
        self._ended: dict[str, list[float]] = {w.name: [] for w in limits.windows}
        self._paused_until = 0.0
        self._learned = LearnedQuota()
        self._tracking = tracking_window(limits)
        self._waiting: dict[int, Ticket] = {}
        self.peak_in_flight = 0
        self.admitted = 0

    # -- the budget interface -------------------------------------------------------------

    def pause_until(self, until: float) -> None:  # noqa: D102 - documented on Budget
        with self._cond:
            self._paused_until = max(self._paused_until, until)
            self._changed()

    def snapshot(self) -> dict[str, Any]:  # noqa: D102 - documented on Budget
        with self._cond:
            now = self.clock()
            return {
                "system": self.system,
                "in_flight": self._in_flight,
                "peak_in_flight": self.peak_in_flight,
                "admitted": self.admitted,
                "waiting": len(self._waiting),
                "paused_for": max(0.0, self._paused_until - now),
                "windows": {w.name: self._used(w, now) for w in self.limits.windows},
                "learned": {"limit": self._learned.limit, "used": self._learned.used},
            }

    def _learn(self, learned: Learned) -> None:
        with self._cond:
            tracking = self._tracking
            ours = None if tracking is None else self._used(tracking, self.clock())
            self._learned.merge(learned, ours)
            self._changed()

    # -- backend ---------------------------------------------------------------------------

    def _enqueue(self, ticket: Ticket) -> None:
        with self._cond:
            self._waiting[ticket.seq] = ticket

    def _dequeue(self, ticket: Ticket) -> None:
        with self._cond:
            if self._waiting.pop(ticket.seq, None) is not None:
                self._changed()

    def _sleep(self, ticket: Ticket, seconds: float) -> None:
        with self._cond:
            if self._generation == ticket.held.get("generation"):
                self._cond.wait(seconds)

    def _attempt(self, ticket: Ticket) -> Verdict:
        with self._cond:
            ticket.held["generation"] = self._generation
            now = self.clock()
            verdict = self._time_block(ticket, now)
            ticket.held["timed"] = verdict is not None
            if verdict is None:
                verdict = self._share_block(ticket, now)
            if verdict is not None:
                return verdict
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            self.admitted += 1
            counted = [w.name for w in self.limits.windows if w.counts(ticket.write)]
            for name in counted:
                self._pending[name] += 1
            ticket.held["windows"] = counted
            self._learned.admit(now)
            return ADMITTED

    def _release(self, ticket: Ticket) -> None:
        with self._cond:
            now = self.clock()
            self._in_flight -= 1
            for name in ticket.held.get("windows", ()):
                self._pending[name] -= 1
                bisect.insort(self._ended[name], now)
            self._changed()

    # -- rules -----------------------------------------------------------------------------

    def _changed(self) -> None:
        self._generation += 1
        self._cond.notify_all()

    def _used(self, window: Window, now: float) -> int:
        ended = self._ended[window.name]
        expired = bisect.bisect_right(ended, now - window.seconds)
        del ended[:expired]
        return self._pending[window.name] + len(ended)

    def _ours_wait(self, window: Window, now: float, need: int) -> float | None:
        """Seconds until ``need`` answered requests have left ``window`` (None: not enough)."""
        ended = self._ended[window.name]
        return ended[need - 1] + window.seconds - now if 0 < need <= len(ended) else None

    def _time_block(self, ticket: Ticket, now: float) -> Verdict | None:
        """What holds the request back until some time passes: pause, windows, vendor quota."""
        waits: list[float | None] = []
        reasons: list[str] = []
        if self._paused_until > now:
            waits.append(self._paused_until - now)
            reasons.append("paused at the vendor's request")
        for window in self.limits.windows:
            used = self._used(window, now) if window.counts(ticket.write) else 0
            if window.counts(ticket.write) and used >= window.limit:
                waits.append(self._ours_wait(window, now, used - window.limit + 1))
                reasons.append(f"{window.name} window full ({used}/{window.limit})")
        tracking = self._tracking
        ours = None if tracking is None else self._used(tracking, now)
        learned = self._learned.block(
            now,
            self.limits,
            ours,
            lambda need: None if tracking is None else self._ours_wait(tracking, now, need),
        )
        if learned is not None:
            waits.append(learned.wait)
            reasons.append(learned.reason)
        return blocked(waits, reasons) if reasons else None

    def _share_block(self, ticket: Ticket, now: float) -> Verdict | None:
        """Room left once every request waiting ahead has taken its unit."""
        key = (ticket.priority, ticket.seq)
        ahead = [
            t
            for t in self._waiting.values()
            if (t.priority, t.seq) < key and not t.held.get("timed", False)
        ]
        limit = self.limits.max_concurrency
        if limit is not None and self._in_flight + len(ahead) >= limit:
            return Verdict(False, None, f"all {limit} concurrent slots taken or promised")
        for window in self.limits.windows:
            if not window.counts(ticket.write):
                continue
            promised = sum(1 for t in ahead if window.counts(t.write))
            if self._used(window, now) + promised >= window.limit:
                return Verdict(False, None, f"{window.name} window promised to earlier requests")
        return None
