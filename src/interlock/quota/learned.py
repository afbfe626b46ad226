"""What the vendor's usage headers taught, held against what we sent ourselves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from interlock.quota.headers import Learned
from interlock.quota.limits import Limits, Window


@dataclass(frozen=True)
class Block:
    """Why and how long the learned quota holds requests back (``wait`` None = unknown)."""

    wait: float | None
    reason: str


OursWait = Callable[[int], float | None]
"""Seconds until ``n`` of our own requests leave the tracking window; None when they cannot."""


def tracking_window(limits: Limits) -> Window | None:
    """The window that mirrors the vendor's reported quota, if the limits have one.

    That is the longest window counting every request (a daily quota).
    """
    every = [w for w in limits.windows if w.applies_to == "all"]
    return max(every, key=lambda w: w.seconds) if every else None


@dataclass
class LearnedQuota:
    """The vendor's reported quota (``limit``) and usage.

    With a tracking window, the estimate of the vendor's count is our own count in that
    window plus ``foreign``, the requests the vendor counted that we did not send (other
    clients of the same org), as of the last response. Without one, ``used`` counts up with
    every request we send and each response corrects it (never downwards: answers to older
    requests arrive late), unless the quota refilled (``reset_at`` changed) or a probe was
    sent after it looked used up.
    """

    limit: int | None = None
    used: int = 0
    foreign: int = 0
    reset_at: float | None = None
    stale_at: float | None = None
    probe_at: float | None = None

    def merge(self, learned: Learned, ours: int | None) -> None:
        """Take in a response's usage headers; ``ours`` is our count in the tracking window."""
        fresh = (
            self.limit is None
            or learned.limit != self.limit
            or learned.reset_at != self.reset_at
            or self.probe_at is not None
        )
        self.used = learned.used if fresh else max(self.used, learned.used)
        self.foreign = 0 if ours is None else max(0, learned.used - ours)
        self.limit = learned.limit
        self.reset_at = learned.reset_at
        self.stale_at = learned.reset_at
        self.probe_at = None

    def block(
        self, now: float, limits: Limits, ours: int | None, ours_wait: OursWait
    ) -> Block | None:
        """None when the learned quota lets a request go (a probe counts), else the block.

        Args:
            now: Current time.
            limits: The budget's limits (pauses and recheck interval).
            ours: Our count in the tracking window; None when there is none.
            ours_wait: When our own requests leave that window.
        """
        if self.limit is None or (self.reset_at is not None and now >= self.reset_at):
            return None
        if self.stale_at is not None and now >= self.stale_at:
            if self.probe_at is None or now >= self.probe_at + limits.default_pause:
                return None  # one probe, to learn whether the quota refilled
            return Block(limits.default_pause, "waiting for a probe's answer")
        estimate = self.used if ours is None else ours + self.foreign
        if estimate < self.limit:
            return None
        reason = f"vendor quota used up ({estimate}/{self.limit})"
        if self.reset_at is not None:
            return Block(self.reset_at - now, reason)
        if ours is not None:
            wait = ours_wait(estimate - self.limit + 1)
            if wait is not None:
                return Block(wait, reason)
        if self.stale_at is None:  # nothing says when it refills: probe after a while
            self.stale_at = now + limits.recheck_seconds
        return Block(self.stale_at - now, reason)

    def admit(self, now: float) -> None:
        """Count a request we are about to send."""
        if self.limit is None:
            return
        if self.stale_at is not None and now >= self.stale_at and self.reset_at is None:
            self.probe_at = now
        self.used += 1
