"""Pushing change events to subscriber endpoints (an Interlock sandbox stand-in for CometD).

Each subscriber has its own thread. It POSTs ``{"channel", "events": [...]}`` batches in
replay order and moves on only after a 2xx answer, so a subscriber that fails sees the same
batch again. Attempts per batch are bounded: after ``max_attempts`` failures the subscriber is
*suspended* (events stay retained); subscribing the same URL and channel again resumes from
the last delivered replay id, as a CometD client re-handshaking with its replay id would.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import httpx
import orjson

from interlock.sandbox.salesforce.cdc import NEW_ONLY, ChangeLog, check_channel


class Subscriber:
    """One endpoint receiving one channel's events from a background thread."""

    def __init__(
        self,
        log: ChangeLog,
        sub_id: str,
        url: str,
        channel: str,
        after: int,
        *,
        batch_size: int = 100,
        max_attempts: int = 5,
        backoff: float = 0.05,
    ) -> None:
        self.id, self.url, self.channel = sub_id, url, channel
        self.delivered = after
        self.status = "active"
        self.attempts = 0
        self.last_error: str | None = None
        self._log = log
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"cdc:{sub_id}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop pushing and wait for the thread."""
        self._stop.set()
        self._log.wake()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        if self.status == "active":
            self.status = "stopped"

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "channel": self.channel,
            "status": self.status,
            "deliveredReplayId": self.delivered,
            "attempts": self.attempts,
            "lastError": self.last_error,
        }

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while not self._stop.is_set():
                batch = self._log.wait(self.channel, self.delivered, self._batch_size, self._stop)
                if batch and not self._deliver(client, batch):
                    self.status = "suspended"
                    return

    def _deliver(self, client: httpx.Client, batch: list[Any]) -> bool:
        body = orjson.dumps({"channel": self.channel, "events": batch})
        headers = {"Content-Type": "application/json"}
        for attempt in range(self._max_attempts):
            if self._stop.is_set():
                return True
            try:
                response = client.post(self.url, content=body, headers=headers)
                if response.is_success:
                    self.delivered = int(batch[-1]["event"]["replayId"])
                    self.attempts, self.last_error = 0, None
                    return True
                self.last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                self.last_error = type(exc).__name__
            self.attempts = attempt + 1
            self._stop.wait(min(2.0, self._backoff * 2**attempt))
        return False


class Subscriptions:
    """The org's push subscribers; thread-safe."""

    def __init__(self, log: ChangeLog, *, max_attempts: int = 5, backoff: float = 0.05) -> None:
        self._log = log
        self._lock = threading.Lock()
        self._subscribers: dict[str, Subscriber] = {}
        self._ids = itertools.count(1)
        self.max_attempts = max_attempts
        self.backoff = backoff

    def subscribe(self, url: str, channel: str, replay_from: int | None = None) -> Subscriber:
        """Push ``channel`` to ``url``; replaces (and resumes) a subscriber of the same pair.

        ``replay_from``: deliver events after this replay id; ``-1`` only new ones, ``-2``
        all retained. Default: where the replaced subscriber stopped, else ``-1``.
        """
        check_channel(channel)
        with self._lock:
            old = next(
                (s for s in self._subscribers.values() if (s.url, s.channel) == (url, channel)),
                None,
            )
            if old is not None:
                old.stop()
                del self._subscribers[old.id]
            if replay_from is None:
                replay_from = old.delivered if old is not None else NEW_ONLY
            after = self._log.latest_replay_id if replay_from == NEW_ONLY else replay_from
            sub = Subscriber(
                self._log,
                f"sub-{next(self._ids)}",
                url,
                channel,
                after,
                max_attempts=self.max_attempts,
                backoff=self.backoff,
            )
            self._subscribers[sub.id] = sub
        sub.start()
        return sub

    def unsubscribe(self, sub_id: str) -> bool:
        """Stop and forget a subscriber; False when there is none with that id."""
        with self._lock:
            sub = self._subscribers.pop(sub_id, None)
        if sub is not None:
            sub.stop()
        return sub is not None

    def all(self) -> list[Subscriber]:
        with self._lock:
            return list(self._subscribers.values())

    def close(self) -> None:
        """Stop every subscriber thread."""
        with self._lock:
            subs = list(self._subscribers.values())
            self._subscribers.clear()
        for sub in subs:
            sub.stop()
