"""The budget shared by every process through the database (SQLite or PostgreSQL).

Each attempt is one transaction that first locks the system's ``quota_state`` row (``FOR
UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serializes writers anyway), so checks and
increments are atomic across processes.

- Concurrency: rows ``quota_slots(system, slot)``; a request claims a free one (``UPDATE …
  WHERE holder IS NULL OR lease_until < now``, ``SKIP LOCKED`` on PostgreSQL). A holder that
  died leaves the slot until its lease runs out.
- Windows slide over buckets (``quota_windows``, 1/60 of the window each). A request counts in
  the bucket it was sent in and moves, on release, to the bucket its answer came in; a
  window's usage is the sum over its length plus one bucket. That costs at most one bucket
  of capacity and keeps the vendor's own window, whatever its alignment, from overflowing.
- Priorities, approximately: a request that has to wait registers in ``quota_waiters``; a
  later or lower-priority request only takes a unit of a limit that is left after one unit
  per registered waiter ahead of it. Check and claim race a little between processes.

The engine must come from ``interlock.store.database.create_engine`` (SQLite pragmas and
``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from interlock.quota.budget import ADMITTED, Budget, Clock, Ticket, Verdict, blocked
from interlock.quota.headers import Learned
from interlock.quota.learned import LearnedQuota, tracking_window
from interlock.quota.limits import Limits, Window
from interlock.quota.rows import QuotaRows
from interlock.store.database import wrap_errors


class SharedBudget(Budget):
    """A budget kept in the database, shared by every worker process of the hub.

    Args:
        system: Name of the system (the key in the quota tables).
        limits: What to enforce; every process should use the same limits.
        engine: Engine from ``interlock.store.database.create_engine``.
        clock: Seconds since the epoch; processes must agree on it.
        poll: Longest sleep between two attempts of a waiting request (a release in this
            process wakes its waiters at once; other processes' releases are polled).
    """

    learns_on_release = True

    def __init__(
        self,
        system: str,
        limits: Limits,
        engine: sa.Engine,
        *,
        clock: Clock = time.time,
        poll: float = 0.05,
    ) -> None:
        super().__init__(system, limits, clock=clock, poll=poll)
        self.engine = engine
        self.rows = QuotaRows(system, engine.dialect.name, limits.windows)
        self._slots = limits.max_concurrency or 0
        self._tracking = tracking_window(limits)
        self._holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{id(self) % 100_000}"
        self._releases = 0
        self._cond = threading.Condition()
        self._generation = 0
        with self._begin("setting up the request budget") as conn:
            self.rows.ensure(conn, self._slots)

    # -- the budget interface -------------------------------------------------------------

    def pause_until(self, until: float) -> None:  # noqa: D102 - documented on Budget
        with self._begin("pausing the request budget") as conn:
            self.rows.pause(conn, until)
        self._changed()

    def snapshot(self) -> dict[str, Any]:  # noqa: D102 - documented on Budget
        with self._begin("reading the request budget") as conn:
            now = self.clock()
            state = self.rows.state(conn, lock=False)
            return {
                "system": self.system,
                "in_flight": self.rows.busy(conn, self._slots, now),
                "waiting": self.rows.waiting(conn, now),
                "paused_for": max(0.0, state["paused_until"] - now),
                "windows": {w.name: self._used(conn, w, now) for w in self.limits.windows},
                "learned": {"limit": state["learned_limit"], "used": state["learned_used"]},
            }

    def _learn(self, learned: Learned) -> None:
        with self._begin("learning the vendor's quota") as conn:
            self._merge(conn, learned)
        self._changed()

    def _merge(self, conn: sa.Connection, learned: Learned) -> None:
        quota = self.rows.learned(self.rows.state(conn, lock=True))
        tracking = self._tracking
        ours = None if tracking is None else self._used(conn, tracking, self.clock())
        quota.merge(learned, ours)
        self.rows.save_learned(conn, quota)

    # -- backend ---------------------------------------------------------------------------

    def _enqueue(self, ticket: Ticket) -> None:
        ticket.held["waiter"] = f"{self._holder}:{ticket.seq}"

    def _dequeue(self, ticket: Ticket) -> None:
        if ticket.held.pop("registered", False):
            with self._begin("leaving the request queue") as conn:
                self.rows.unregister(conn, ticket.held["waiter"])
            self._changed()

    def _sleep(self, ticket: Ticket, seconds: float) -> None:
        with self._cond:
            if self._generation == ticket.held.get("generation"):
                self._cond.wait(seconds)

    def _changed(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def _attempt(self, ticket: Ticket) -> Verdict:
        with self._cond:
            ticket.held["generation"] = self._generation
        with self._begin("acquiring a request permit") as conn:
            now = self.clock()
            state = self.rows.look(
                conn,
                now,
                slots=self._slots,
                waiter=ticket.held["waiter"],
                priority=int(ticket.priority),
                since=ticket.since,
            )
            quota = self.rows.learned(state)
            mine = [w for w in self.limits.windows if w.counts(ticket.write)]
            verdict = self._time_block(conn, state, quota, mine, now)
            if verdict is not None:
                self.rows.save_learned(conn, quota)
                if ticket.held.pop("registered", False):  # held back by time: promises nothing
                    self.rows.unregister(conn, ticket.held["waiter"])
                return verdict
            verdict = self._share_block(state, mine)
            if verdict is None and self._slots:
                slot = self.rows.claim(
                    conn, self._slots, ticket.held["waiter"], now, self.limits.lease_seconds
                )
                ticket.held["slot"] = slot
                if slot is None:
                    verdict = Verdict(False, None, "no concurrent slot free")
            if verdict is not None:
                self._register(conn, ticket, now)
                return verdict
            ticket.held["buckets"] = [(w.name, self.rows.bucket(w, now)) for w in mine]
            for name, start in ticket.held["buckets"]:
                self.rows.bump(conn, name, start, 1)
            quota.admit(now)
            self.rows.save_learned(conn, quota)
            if ticket.held.pop("registered", False):
                self.rows.unregister(conn, ticket.held["waiter"])
            return ADMITTED

    def _release(self, ticket: Ticket) -> None:
        with self._begin("releasing a request permit") as conn:
            now = self.clock()
            if "learned" in ticket.held:  # first: attempts lock the state row before others
                self._merge(conn, ticket.held.pop("learned"))
            if ticket.held.get("slot") is not None:
                self.rows.free(conn, ticket.held["slot"], ticket.held["waiter"])
            windows = {w.name: w for w in self.limits.windows}
            for name, start in ticket.held.get("buckets", ()):
                end = self.rows.bucket(windows[name], now)
                if end != start:  # count it where its answer came: holds at the vendor too
                    self.rows.bump(conn, name, start, -1)
                    self.rows.bump(conn, name, end, 1)
            self._releases += 1
            if self._releases % 200 == 0:
                self.rows.clean(conn, self.limits.windows, now)
        self._changed()

    # -- rules -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _begin(self, what: str) -> Iterator[sa.Connection]:
        with wrap_errors(what), self.engine.begin() as conn:
            yield conn

    def _used(self, conn: sa.Connection, window: Window, now: float) -> int:
        return sum(used for _, used in self.rows.buckets(conn, window, now))

    def _time_block(
        self,
        conn: sa.Connection,
        state: dict[str, Any],
        quota: LearnedQuota,
        mine: list[Window],
        now: float,
    ) -> Verdict | None:
        waits: list[float | None] = []
        reasons: list[str] = []
        if state["paused_until"] > now:
            waits.append(state["paused_until"] - now)
            reasons.append("paused at the vendor's request")
        for window in mine:
            used = int(state[f"used:{window.name}"])
            if used >= window.limit:
                need = used - window.limit + 1
                waits.append(self.rows.ours_wait(conn, window, need, now))
                reasons.append(f"{window.name} window full ({used}/{window.limit})")
        tracking = self._tracking
        ours = None if tracking is None else int(state[f"used:{tracking.name}"])
        learned = quota.block(
            now,
            self.limits,
            ours,
            lambda need: (
                None if tracking is None else self.rows.ours_wait(conn, tracking, need, now)
            ),
        )
        if learned is not None:
            waits.append(learned.wait)
            reasons.append(learned.reason)
        return blocked(waits, reasons) if reasons else None

    def _share_block(self, state: dict[str, Any], mine: list[Window]) -> Verdict | None:
        ahead = {False: int(state["ahead_reads"]), True: int(state["ahead_writes"])}
        if self._slots and int(state["busy"]) + sum(ahead.values()) >= self._slots:
            return Verdict(False, None, f"all {self._slots} concurrent slots taken or promised")
        for window in mine:
            promised = sum(n for is_write, n in ahead.items() if window.counts(is_write))
            if int(state[f"used:{window.name}"]) + promised >= window.limit:
                return Verdict(False, None, f"{window.name} window promised to earlier requests")
        return None

    def _register(self, conn: sa.Connection, ticket: Ticket, now: float) -> None:
        self.rows.register(
            conn,
            ticket.held["waiter"],
            priority=int(ticket.priority),
            write=ticket.write,
            since=ticket.since,
            expires=now + max(1.0, 4 * self.poll),
            known=ticket.held.get("registered", False),
        )
        ticket.held["registered"] = True
