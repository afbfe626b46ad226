"""The statements of the shared budget, over the quota tables, for one system."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from interlock.quota.learned import LearnedQuota
from interlock.quota.limits import Window
from interlock.quota.tables import quota_slots, quota_state, quota_waiters, quota_windows

BUCKETS_PER_WINDOW = 60
_LEARNED = ("limit", "used", "foreign", "reset_at", "stale_at", "probe_at")


class QuotaRows:
    """Reads and writes the quota rows of ``system`` inside the caller's transaction."""

    def __init__(self, system: str, dialect: str, windows: tuple[Window, ...]) -> None:
        self.system = system
        self.windows = windows
        self._pg = dialect == "postgresql"
        self._insert = postgresql.insert if self._pg else sqlite.insert
        self.bucket_ms = {
            w.name: max(1, math.floor(w.seconds * 1000 / BUCKETS_PER_WINDOW)) for w in windows
        }

    def ensure(self, conn: sa.Connection, slots: int) -> None:
        """Create the state row and slots 0..slots-1 when missing."""
        conn.execute(self._insert(quota_state).on_conflict_do_nothing(), [{"system": self.system}])
        if slots:
            rows = [{"system": self.system, "slot": s} for s in range(slots)]
            conn.execute(self._insert(quota_slots).on_conflict_do_nothing(), rows)

    # -- state ----------------------------------------------------------------------------

    def state(self, conn: sa.Connection, *, lock: bool) -> dict[str, Any]:
        """The state row; ``lock`` holds it (FOR UPDATE) until the transaction ends."""
        query = sa.select(quota_state).where(quota_state.c.system == self.system)
        row = conn.execute(query.with_for_update() if lock else query).one()
        return {str(k): v for k, v in row._mapping.items()}

    def look(
        self,
        conn: sa.Connection,
        now: float,
        *,
        slots: int,
        waiter: str,
        priority: int,
        since: float,
    ) -> dict[str, Any]:
        """Everything an attempt decides on, in one statement that locks the state row.

        The state row's columns, plus ``busy`` (slots held), ``ahead_reads`` and
        ``ahead_writes`` (live waiters ahead of this one) and ``used:<window>`` per window.
        """
        s, w, c = quota_slots.c, quota_waiters.c, quota_windows.c
        busy = sa.select(sa.func.count()).where(
            s.system == self.system, s.slot < slots, s.holder.is_not(None), s.lease_until >= now
        )
        ahead = sa.select(sa.func.count()).where(
            w.system == self.system,
            w.expires_at > now,
            w.waiter != waiter,
            sa.or_(w.priority < priority, sa.and_(w.priority == priority, w.since < since)),
        )
        columns = [
            busy.scalar_subquery().label("busy"),
            ahead.where(w.is_write.is_(False)).scalar_subquery().label("ahead_reads"),
            ahead.where(w.is_write.is_(True)).scalar_subquery().label("ahead_writes"),
        ]
        for window in self.windows:
            oldest = (now - window.seconds) * 1000 - self.bucket_ms[window.name]
            used = sa.select(sa.func.coalesce(sa.func.sum(c.used), 0)).where(
                c.system == self.system, c.window_name == window.name, c.window_start > oldest
            )
            columns.append(used.scalar_subquery().label(f"used:{window.name}"))
        query = sa.select(quota_state, *columns).where(quota_state.c.system == self.system)
        row = conn.execute(query.with_for_update(of=quota_state.c.system)).one()
        return {str(k): v for k, v in row._mapping.items()}

    def pause(self, conn: sa.Connection, until: float) -> None:
        """Push ``paused_until`` out to ``until`` (never back)."""
        paused = quota_state.c.paused_until
        conn.execute(
            quota_state.update()
            .where(quota_state.c.system == self.system)
            .values(paused_until=sa.case((paused < until, until), else_=paused))
        )

    @staticmethod
    def learned(state: dict[str, Any]) -> LearnedQuota:
        """The learned quota kept in a state row."""
        return LearnedQuota(**{k: state[f"learned_{k}"] for k in _LEARNED})

    def save_learned(self, conn: sa.Connection, quota: LearnedQuota) -> None:
        """Store the learned quota (nothing to store until a header taught one)."""
        if quota.limit is not None:
            conn.execute(
                quota_state.update()
                .where(quota_state.c.system == self.system)
                .values({f"learned_{k}": getattr(quota, k) for k in _LEARNED})
            )

    # -- concurrency slots ------------------------------------------------------------------

    def busy(self, conn: sa.Connection, slots: int, now: float) -> int:
        """Slots held under a live lease."""
        s = quota_slots.c
        query = sa.select(sa.func.count()).where(
            s.system == self.system, s.slot < slots, s.holder.is_not(None), s.lease_until >= now
        )
        return int(conn.execute(query).scalar_one())

    def claim(
        self, conn: sa.Connection, slots: int, holder: str, now: float, lease: float
    ) -> int | None:
        """Take a free slot (or one whose holder's lease ran out); None when all are held."""
        s = quota_slots.c
        free = (
            sa.select(s.slot)
            .where(
                s.system == self.system,
                s.slot < slots,
                sa.or_(s.holder.is_(None), s.lease_until < now),
            )
            .order_by(s.slot)
            .limit(1)
        )
        if self._pg:
            free = free.with_for_update(skip_locked=True)
        claimed = conn.execute(
            quota_slots.update()
            .where(s.system == self.system, s.slot == free.scalar_subquery())
            .values(holder=holder, lease_until=now + lease)
            .returning(s.slot)
        ).scalar_one_or_none()
        return None if claimed is None else int(claimed)

    def free(self, conn: sa.Connection, slot: int, holder: str) -> None:
        """Give a slot back, if ``holder`` still holds it."""
        s = quota_slots.c
        conn.execute(
            quota_slots.update()
            .where(s.system == self.system, s.slot == slot, s.holder == holder)
            .values(holder=None, lease_until=None)
        )

    # -- windows ----------------------------------------------------------------------------

    def bucket(self, window: Window, now: float) -> int:
        """Start (epoch ms) of the bucket of ``window`` that ``now`` falls in."""
        size = self.bucket_ms[window.name]
        return math.floor(now * 1000 / size) * size

    def buckets(self, conn: sa.Connection, window: Window, now: float) -> list[tuple[int, int]]:
        """(start, used) of the buckets a request sent ``now`` shares the window with.

        Those that started less than a window plus a bucket ago, oldest first.
        """
        c = quota_windows.c
        oldest = (now - window.seconds) * 1000 - self.bucket_ms[window.name]
        rows = conn.execute(
            sa.select(c.window_start, c.used)
            .where(c.system == self.system, c.window_name == window.name, c.window_start > oldest)
            .order_by(c.window_start)
        )
        return [(int(start), int(used)) for start, used in rows]

    def ours_wait(self, conn: sa.Connection, window: Window, need: int, now: float) -> float | None:
        """Seconds until ``need`` counted requests have left the window (None: not enough)."""
        freed = 0
        size = self.bucket_ms[window.name]
        for start, count in self.buckets(conn, window, now):
            freed += count
            if freed >= need > 0:
                return max(0.0, (start + size) / 1000 + window.seconds - now)
        return None

    def bump(self, conn: sa.Connection, name: str, start: int, delta: int) -> None:
        """Add ``delta`` (+1 or -1) to a bucket."""
        c = quota_windows.c
        if delta < 0:
            conn.execute(
                quota_windows.update()
                .where(c.system == self.system, c.window_name == name, c.window_start == start)
                .values(used=sa.case((c.used > 0, c.used - 1), else_=0))
            )
            return
        insert = self._insert(quota_windows).values(
            system=self.system, window_name=name, window_start=start, used=delta
        )
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[c.system, c.window_name, c.window_start],
                set_={"used": c.used + delta},
            )
        )

    # -- waiters ----------------------------------------------------------------------------

    def waiting(self, conn: sa.Connection, now: float) -> int:
        """Live waiters."""
        w = quota_waiters.c
        query = sa.select(sa.func.count()).where(w.system == self.system, w.expires_at > now)
        return int(conn.execute(query).scalar_one())

    def register(
        self,
        conn: sa.Connection,
        waiter: str,
        *,
        priority: int,
        write: bool,
        since: float,
        expires: float,
        known: bool,
    ) -> None:
        """Register a waiter, or (``known``) extend its registration."""
        w = quota_waiters.c
        if known:
            conn.execute(
                quota_waiters.update()
                .where(w.system == self.system, w.waiter == waiter)
                .values(expires_at=expires)
            )
            return
        conn.execute(
            quota_waiters.insert().values(
                system=self.system,
                waiter=waiter,
                priority=priority,
                is_write=write,
                since=since,
                expires_at=expires,
            )
        )

    def unregister(self, conn: sa.Connection, waiter: str) -> None:
        """Remove a waiter."""
        w = quota_waiters.c
        conn.execute(quota_waiters.delete().where(w.system == self.system, w.waiter == waiter))

    def clean(self, conn: sa.Connection, windows: tuple[Window, ...], now: float) -> None:
        """Delete buckets that left their window and waiters long gone."""
        c = quota_windows.c
        for window in windows:
            oldest = (now - window.seconds) * 1000 - 2 * self.bucket_ms[window.name]
            conn.execute(
                quota_windows.delete().where(
                    c.system == self.system, c.window_name == window.name, c.window_start < oldest
                )
            )
        w = quota_waiters.c
        conn.execute(quota_waiters.delete().where(w.system == self.system, w.expires_at < now - 60))
