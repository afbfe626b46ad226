"""Subscribed Events: the account's change log, kept nine days, read by polling.

Kantata warns that events can be generated out of order, that ``created_at`` can differ from
``subject_changed_at`` and that an event can be delivered twice [KT-EVENTS]. With ``chaos`` on
the log does all three, from a seeded generator so a run can be repeated.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from interlock.sandbox.kantata.envelope import bad_request
from interlock.sandbox.kantata.queries import Query, ids, ordered, parse_time
from interlock.sandbox.kantata.records import Record

RETENTION = dt.timedelta(days=9)
SUBJECTS = {
    "workspaces": ("Workspace", "workspace"),
    "stories": ("Story", "story"),
    "time_entries": ("TimeEntry", "time_entry"),
    "expenses": ("Expense", "expense"),
    "workspace_resources": ("WorkspaceResource", "workspace_resource"),
    "workspace_allocations": ("WorkspaceAllocation", "workspace_allocation"),
    "assignments": ("Assignment", "assignment"),
}
"""Tables whose writes are logged: table → (subject_type, event type prefix) [KT-EVSURF]."""
PAYLOAD_FIELDS = ("current_payload", "previous_payload", "payload_changes")
CHAOS_LAG_SECONDS = 3
CHAOS_DUPLICATE_RATE = 0.15
CHAOS_SWAP_RATE = 0.25


def stamp(moment: dt.datetime) -> str:
    """Kantata-style timestamp: ISO 8601, whole seconds, explicit offset."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


class EventLog:
    """Events in creation order. Not locked: the state calls it under its own lock."""

    def __init__(self, seed: int = 0) -> None:
        self.chaos = False
        self._events: list[Record] = []
        self._seed = seed
        self._rng = random.Random(seed)
        self._next_id = 1

    def record(
        self,
        table: str,
        action: str,
        before: Record | None,
        after: Record | None,
        *,
        now: dt.datetime,
        user_id: str | None,
    ) -> Record:
        """Log that ``table`` record changed from ``before`` to ``after`` (public shapes)."""
        subject_type, prefix = SUBJECTS[table]
        subject = after or before
        assert subject is not None
        created = now
        if self.chaos:
            # Generation lags the change by a few seconds, so created_at order and
            # subject_changed_at order disagree.
            created = now + dt.timedelta(seconds=self._rng.randint(0, CHAOS_LAG_SECONDS))
        event: Record = {
            "id": str(self._next_id),
            "event_type": f"{prefix}:{action}",
            "subject_type": subject_type,
            "subject_id": subject["id"],
            "subject_changed_at": stamp(now),
            "created_at": stamp(created),
            "user_id": user_id,
            "current_payload": after,
            "previous_payload": before,
            "payload_changes": _changes(before or {}, after or {}),
        }
        self._next_id += 1
        self._events.append(event)
        return event

    def prune(self, now: dt.datetime) -> None:
        oldest = now - RETENTION
        self._events = [
            e for e in self._events if dt.datetime.fromisoformat(e["created_at"]) >= oldest
        ]

    def all(self) -> list[Record]:
        return list(self._events)

    def select(self, query: Query) -> list[Record]:
        """Events matching the query, in the requested order, as the API delivers them."""
        events = list(self._events)
        for name, after in (("created_after", True), ("created_before", False)):
            if query.get(name):
                bound = parse_time(query[name], name)
                events = [e for e in events if _on_side(e["created_at"], bound, after)]
        if query.get("event_types"):
            wanted = set(ids(query["event_types"]))
            events = [e for e in events if e["event_type"] in wanted]
        if query.get("subject_type"):
            events = [e for e in events if e["subject_type"] == query["subject_type"]]
        if query.get("subject_id"):
            if not query.get("subject_type"):
                raise bad_request("subject_id requires subject_type")
            subjects = set(ids(query["subject_id"]))
            events = [e for e in events if e["subject_id"] in subjects]
        if query.get("only"):
            wanted = set(ids(query["only"]))
            events = [e for e in events if e["id"] in wanted]
        events = ordered(events, query, default="created_at:desc", allowed=("created_at",))
        return self._perturb(events, query) if self.chaos else events

    def _perturb(self, events: list[Record], query: Query) -> list[Record]:
        # Seeded by the query without its paging, so the pages of one listing agree with each
        # other, as pages of a real listing do.
        shape = sorted(
            (k, v) for k, v in query.items() if k not in ("page", "per_page", "limit", "offset")
        )
        rng = random.Random(f"{self._seed}|{shape}|{len(events)}")
        delivered: list[Record] = []
        for event in events:
            delivered.append(event)
            if rng.random() < CHAOS_DUPLICATE_RATE:
                delivered.insert(max(0, len(delivered) - rng.randint(1, 3)), event)
        for index in range(len(delivered) - 1):
            if rng.random() < CHAOS_SWAP_RATE:
                delivered[index], delivered[index + 1] = delivered[index + 1], delivered[index]
        return delivered


def shown(event: Record, optional_fields: set[str]) -> Record:
    """The event as delivered: payloads only when asked for with ``optional_fields``."""
    return {k: v for k, v in event.items() if k not in PAYLOAD_FIELDS or k in optional_fields}


def _on_side(stamp_text: str, bound: dt.datetime, after: bool) -> bool:
    value = dt.datetime.fromisoformat(stamp_text)
    return value > bound if after else value < bound


def _changes(before: Record, after: Record) -> dict[str, list[Any]]:
    keys = [k for k in {**before, **after} if k not in ("updated_at",)]
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}
