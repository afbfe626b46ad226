"""Keeping under the account's concurrency limit, and running many writes at once within it.

NetSuite counts every REST request against one account-wide concurrency limit and refuses the
one over it. ``Slots`` is the connector's share of that limit: every request takes a slot for
as long as it runs, whichever thread or flow sends it. ``run_each`` runs a function over many
items on a thread pool; the pool may be as wide as the slots, never wider in effect.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from interlock.connectors.base import UpsertResult
from interlock.exceptions import ConnectorError, ConnectorUnavailable, RateLimited

T = TypeVar("T")
R = TypeVar("R")
Outcome = UpsertResult | ConnectorError
"""One item's outcome in a parallel batch of upserts."""
MAX_INLINE_WAIT = 2.0


class Slots:
    """At most ``limit`` requests in flight, shared by every thread using this object."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphore = threading.BoundedSemaphore(limit)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold one slot for the duration of the block (waiting for one if all are taken)."""
        with self._semaphore:
            yield


def run_each(
    work: Callable[[T], R], items: Sequence[T], *, workers: int
) -> list[R | ConnectorError]:
    """``work(item)`` for every item, on up to ``workers`` threads, in input order.

    A ConnectorError is returned in the item's place, so the other items go on. Any other
    exception is a programming error: it is raised once every item has finished. Each item
    runs in a copy of the caller's context, so context variables (the flow's quota priority)
    reach the pool's threads.
    """
    if len(items) <= 1 or workers <= 1:
        return [_outcome(work, item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, _outcome, work, item) for item in items
        ]
        return [future.result() for future in futures]


def _outcome(work: Callable[[T], R], item: T) -> R | ConnectorError:
    try:
        return work(item)
    except ConnectorError as exc:
        return exc


def outcomes_of(error: BaseException) -> list[Outcome] | None:
    """The per-item outcomes an ``upsert_many`` error carries, in input order (else None)."""
    found = vars(error).get("outcomes")
    return list(found) if isinstance(found, list) else None


def retry_transient(send: Callable[[], R], *, retries: int) -> R:
    """``send()``, tried again up to ``retries`` times after a transient failure.

    The wait is the Retry-After the vendor asked for, else 50 ms doubling; a longer wait than
    MAX_INLINE_WAIT is left to the engine. ``send`` takes its slot itself, so none is held
    while waiting.
    """
    for attempt in range(retries + 1):
        try:
            return send()
        except (ConnectorUnavailable, RateLimited) as exc:
            wait = exc.retry_after if isinstance(exc, RateLimited) else None
            wait = 0.05 * 2**attempt if wait is None else wait
            if attempt == retries or wait > MAX_INLINE_WAIT:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
