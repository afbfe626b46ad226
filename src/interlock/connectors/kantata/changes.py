"""Reading Subscribed Events safely: deduplicated, re-ordered, resumable. Pure functions.

Kantata warns that events may be generated out of order, that ``created_at`` and
``subject_changed_at`` can differ and that an event may come twice [KT-EVENTS]. So:

- The cursor is ``<time>|<ids>``: the time is the newest ``created_at`` delivered (held back
  to the oldest event read but left for the next call), the ids are every delivered event
  created within the overlap window before that time.
- Each read asks for events created after ``cursor time - overlap``, so an event generated
  late with an older ``created_at`` is still seen; the ids in the cursor skip the ones already
  delivered. Duplicates inside a read are dropped by event id.
- Changes are picked and delivered in ``subject_changed_at`` order (then event id), so the
  changes of one subject come in the order they happened, also across calls, as long as
  Kantata generates an event within the overlap of its change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interlock.exceptions import ConfigError

Event = dict[str, Any]


@dataclass(frozen=True)
class Cursor:
    """Where a reader of Subscribed Events stands.

    Attributes:
        after: Reads start ``overlap`` before this time (None: the whole nine-day window).
        seen: Delivered event id → its ``created_at``, for the events still in the overlap.
    """

    after: dt.datetime | None = None
    seen: Mapping[str, dt.datetime] = field(default_factory=dict)

    def encode(self) -> str | None:
        """``<after>|<id>@<seconds before after>,...``; None before anything was delivered."""
        if self.after is None:
            return None
        after = self.after
        ids = ",".join(
            f"{i}@{round((after - self.seen[i]).total_seconds())}"
            for i in sorted(self.seen, key=_id_order)
        )
        return f"{after.isoformat()}|{ids}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        """Read a stored cursor; None or empty means from the start of the event window."""
        if not text:
            return cls()
        stamp, _, ids = text.partition("|")
        try:
            after = parse_time(stamp)
            seen = {}
            for entry in filter(None, ids.split(",")):
                event_id, _, before = entry.partition("@")
                seen[event_id] = after - dt.timedelta(seconds=int(before))
        except ValueError:
            raise ConfigError(
                "kantata change cursor", text, "expected <ISO 8601 time>|<event id>@<seconds>,..."
            ) from None
        return cls(after, seen)


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time; naive values are read as UTC."""
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _id_order(event_id: str) -> tuple[int, str]:
    return (int(event_id), "") if event_id.isdigit() else (0, event_id)


def fresh(events: Iterable[Event], cursor: Cursor) -> list[Event]:
    """Events not delivered before, each once, in change order."""
    unique: dict[str, Event] = {}
    for event in events:
        event_id = str(event["id"])
        if event_id not in cursor.seen and event_id not in unique:
            unique[event_id] = event
    return in_change_order(unique.values())


def in_change_order(events: Iterable[Event]) -> list[Event]:
    """Order by when the subject changed, then by event id (generation order)."""
    return sorted(
        events, key=lambda e: (parse_time(e["subject_changed_at"]), _id_order(str(e["id"])))
    )


def read_enough(window: list[Event], cursor: Cursor, limit: int, overlap: dt.timedelta) -> bool:
    """Whether later pages cannot hold a change sorting before the ``limit`` picked so far.

    Later pages hold newer ``created_at``; an event is generated within ``overlap`` of its
    change, so once the newest event read is ``overlap`` past the last pick, reading can stop.
    """
    candidates = fresh(window, cursor)
    if len(candidates) <= limit or not window:
        return False
    cutoff = parse_time(candidates[limit - 1]["subject_changed_at"])
    newest = max(parse_time(e["created_at"]) for e in window)
    return newest - overlap > cutoff


def advance(
    cursor: Cursor, delivered: list[Event], window: list[Event], overlap: dt.timedelta
) -> Cursor:
    """The cursor after ``delivered`` (the first changes of ``fresh``).

    The time is the newest ``created_at`` delivered, but never past an event of the window
    left for later, so that event is read again; it never goes back either.
    """
    if not delivered:
        return cursor
    stamps = {str(e["id"]): parse_time(e["created_at"]) for e in delivered}
    after = max(stamps.values())
    waiting = [
        parse_time(e["created_at"]) for e in fresh(window, cursor) if str(e["id"]) not in stamps
    ]
    if waiting:
        after = min(after, min(waiting))
    if cursor.after is not None:
        after = max(after, cursor.after)
    horizon = after - overlap
    known = {**cursor.seen, **stamps}
    return Cursor(after, {i: t for i, t in known.items() if t >= horizon})
