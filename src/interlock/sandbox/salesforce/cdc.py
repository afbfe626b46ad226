"""The org's Change Data Capture event bus: committed changes as events, kept 72 hours.

Events look like CometD (Streaming API) change events: ``{"schema", "payload":
{"ChangeEventHeader": {...}, <changed fields>}, "event": {"replayId": n}}``. Channels are
``/data/ChangeEvents`` (every entity) and ``/data/<Entity>ChangeEvent``. Replay ids grow
across the whole org, so a channel's ids are increasing but not contiguous (as in Salesforce,
where they are opaque). Replay presets as in CometD: ``-1`` = only new events, ``-2`` = every
retained event.

Delivery is an Interlock sandbox stand-in for CometD/Pub/Sub: subscribers register a URL and
the sandbox POSTs batches to it (see ``delivery.py``); tests and the hub can also pull.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from interlock.sandbox.salesforce.errors import ApiError
from interlock.sandbox.salesforce.schema import SOBJECTS
from interlock.sandbox.salesforce.transactions import PendingChange, event_name

ALL_CHANNEL = "/data/ChangeEvents"
RETENTION = dt.timedelta(hours=72)
NEW_ONLY, ALL_RETAINED = -1, -2
CHANNELS = {f"/data/{event_name(o.name)}": o.name for o in SOBJECTS.values()}
"""Channel → entity, for the entities selected for Change Data Capture (all of the org's)."""


def check_channel(channel: str) -> str:
    """``channel`` when it exists. Raises ApiError(400)."""
    if channel != ALL_CHANNEL and channel not in CHANNELS:
        known = ", ".join([ALL_CHANNEL, *CHANNELS])
        raise ApiError(400, "INVALID_CHANNEL", f"unknown channel {channel!r}; use one of {known}")
    return channel


@dataclass(frozen=True)
class _Stored:
    replay_id: int
    entity: str
    committed: dt.datetime
    event: dict[str, Any]


class ChangeLog:
    """Committed change events in replay order; thread-safe.

    Args:
        clock: The org's clock (retention is measured with it).
    """

    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self._clock = clock
        self.condition = threading.Condition()
        self._events: list[_Stored] = []
        self._replay = 0
        self._commit_number = 10_594_936_736_000

    def publish(self, changes: list[PendingChange], *, origin: str, user_id: str, key: str) -> None:
        """Turn the changes of one committed transaction into events."""
        if not changes:
            return
        with self.condition:
            committed = self._clock()
            self._commit_number += 1
            for sequence, change in enumerate(changes, start=1):
                self._replay += 1
                header = {
                    "entityName": change.entity,
                    "recordIds": [change.record_id],
                    "changeType": change.change_type,
                    "changedFields": change.changed_fields,
                    "diffFields": [],
                    "nulledFields": change.nulled_fields,
                    "changeOrigin": origin,
                    "transactionKey": key,
                    "sequenceNumber": sequence,
                    "commitTimestamp": int(committed.timestamp() * 1000),
                    "commitNumber": self._commit_number,
                    "commitUser": user_id,
                }
                event = {
                    "schema": _schema_id(change.entity),
                    "payload": {"ChangeEventHeader": header, **change.fields},
                    "event": {"replayId": self._replay},
                }
                self._events.append(_Stored(self._replay, change.entity, committed, event))
            horizon = committed - RETENTION
            while self._events and self._events[0].committed < horizon:
                self._events.pop(0)
            self.condition.notify_all()

    @property
    def latest_replay_id(self) -> int:
        """The replay id of the newest event (0 before any)."""
        with self.condition:
            return self._replay

    def events(self, channel: str, replay_from: int = ALL_RETAINED, limit: int = 1000) -> list[Any]:
        """Retained events of ``channel`` after ``replay_from`` (or a preset), oldest first."""
        check_channel(channel)
        with self.condition:
            after = self._replay if replay_from == NEW_ONLY else replay_from
            return self._after(channel, after, limit)

    def wait(
        self, channel: str, after: int, limit: int, stop: threading.Event, timeout: float = 0.5
    ) -> list[Any]:
        """Events after ``after``; blocks up to ``timeout`` seconds while there are none."""
        with self.condition:
            found = self._after(channel, after, limit)
            if not found and not stop.is_set():
                self.condition.wait(timeout)
                found = self._after(channel, after, limit)
            return found

    def wake(self) -> None:
        """Wake waiting subscribers (they check whether to stop)."""
        with self.condition:
            self.condition.notify_all()

    def _after(self, channel: str, after: int, limit: int) -> list[Any]:
        entity = CHANNELS.get(channel)
        return [
            s.event
            for s in self._events
            if s.replay_id > after and (entity is None or s.entity == entity)
        ][:limit]


def _schema_id(entity: str) -> str:
    # Salesforce's schema ids are opaque base64-like strings, stable per event type
    digest = hashlib.sha256(event_name(entity).encode()).digest()
    return digest[:16].hex()
