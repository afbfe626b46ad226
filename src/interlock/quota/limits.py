"""What a budget enforces: priority classes, request windows, and the limits of one system."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal, Protocol


class Priority(IntEnum):
    """Who is served first when a budget is scarce: the lowest value first."""

    INVOICE = 0
    TIME = 1
    DEFAULT = 2
    MASTER_DATA = 3


_KIND_PRIORITY = {
    "invoice": Priority.INVOICE,
    "time_entry": Priority.TIME,
    "expense": Priority.TIME,
    "customer": Priority.MASTER_DATA,
    "consultant": Priority.MASTER_DATA,
    "project": Priority.MASTER_DATA,
}


def priority_for_kind(kind: str) -> Priority:
    """The priority class of work on a canonical kind: money and time before master data."""
    return _KIND_PRIORITY.get(kind, Priority.DEFAULT)


_current: contextvars.ContextVar[Priority | None] = contextvars.ContextVar(
    "interlock_quota_priority", default=None
)


@contextlib.contextmanager
def prioritized(priority: Priority | str) -> Iterator[Priority]:
    """Requests sent inside this block (in this thread or task) use ``priority``.

    Args:
        priority: A ``Priority``, or a canonical kind name mapped by ``priority_for_kind``.
    """
    chosen = priority if isinstance(priority, Priority) else priority_for_kind(priority)
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def current_priority() -> Priority | None:
    """The priority set by an enclosing ``prioritized`` block, if any."""
    return _current.get()


Applies = Literal["all", "reads", "writes"]


@dataclass(frozen=True)
class Window:
    """At most ``limit`` requests in any ``seconds``-long interval.

    The window slides: it holds against a vendor that counts fixed, anchored or rolling
    windows of the same length. A request counts from when it is sent until ``seconds`` after
    its response arrived, so transit time can never squeeze two windows' worth together.

    Attributes:
        name: Unique within a budget (``requests``, ``reads``, ``writes``, ``daily``).
        limit: Requests allowed per window.
        seconds: Window length.
        applies_to: Which requests count: all, reads only or writes only.
    """

    name: str
    limit: int
    seconds: float
    applies_to: Applies = "all"

    def counts(self, write: bool) -> bool:
        """Whether a request (a write or a read) counts against this window."""
        if self.applies_to == "all":
            return True
        return write == (self.applies_to == "writes")


class QuotaSettings(Protocol):
    """The quota fields of a connector config (``ConnectorConfig`` has them)."""

    @property
    def max_concurrency(self) -> int | None: ...  # noqa: D102
    @property
    def requests_per_minute(self) -> int | None: ...  # noqa: D102
    @property
    def reads_per_minute(self) -> int | None: ...  # noqa: D102
    @property
    def writes_per_minute(self) -> int | None: ...  # noqa: D102
    @property
    def daily_requests(self) -> int | None: ...  # noqa: D102
    @property
    def max_quota_wait_seconds(self) -> float: ...  # noqa: D102


DAY = 86_400.0


@dataclass(frozen=True)
class Limits:
    """The limits of one external system.

    Attributes:
        max_concurrency: Requests in flight at once; None = unlimited.
        windows: Rate windows; every one that counts a request must have room for it.
        max_wait: Longest wait ``acquire`` accepts; a longer known wait raises RateLimited at
            once, so the engine parks the work instead of holding a worker.
        default_pause: Pause after a 429 / limit answer that names no Retry-After.
        recheck_seconds: When the vendor's headers say the quota is used up and nothing says
            when it refills, how long to wait before one request probes again.
        lease_seconds: How long a shared concurrency slot outlives a holder that died.
    """

    max_concurrency: int | None = None
    windows: tuple[Window, ...] = ()
    max_wait: float = 10.0
    default_pause: float = 1.0
    recheck_seconds: float = 300.0
    lease_seconds: float = 120.0

    def __post_init__(self) -> None:
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        names = [w.name for w in self.windows]
        if len(set(names)) != len(names):
            raise ValueError(f"window names must be unique: {names}")
        for window in self.windows:
            if window.limit < 1 or window.seconds <= 0:
                raise ValueError(f"window {window.name!r} needs limit >= 1 and seconds > 0")

    @property
    def unlimited(self) -> bool:
        """No limit is configured (headers may still teach one)."""
        return self.max_concurrency is None and not self.windows

    @classmethod
    def from_settings(cls, settings: QuotaSettings, *, timeout: float = 30.0) -> Limits:
        """Limits from a connector config's quota fields."""
        windows = []
        per_minute: tuple[tuple[str, int | None, Applies], ...] = (
            ("requests", settings.requests_per_minute, "all"),
            ("reads", settings.reads_per_minute, "reads"),
            ("writes", settings.writes_per_minute, "writes"),
        )
        for name, limit, applies in per_minute:
            if limit is not None:
                windows.append(Window(name, limit, 60.0, applies))
        if settings.daily_requests is not None:
            windows.append(Window("daily", settings.daily_requests, DAY))
        return cls(
            max_concurrency=settings.max_concurrency,
            windows=tuple(windows),
            max_wait=settings.max_quota_wait_seconds,
            lease_seconds=max(60.0, 2 * timeout + 10),
        )
