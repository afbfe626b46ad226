"""Reading Kantata's Subscribed Events, and workspace changes from them.

The reading rules (deduplication, order, the cursor) live in ``changes``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interlock.connectors.base import ChangePage, NativeChange
from interlock.connectors.kantata import wire
from interlock.connectors.kantata.changes import Cursor, advance, fresh, parse_time, read_enough

if TYPE_CHECKING:
    from interlock.connectors.kantata.client import KantataConnector

Record = dict[str, Any]
WORKSPACE_EVENTS = "workspace:created,workspace:updated,workspace:deleted"
EVENT_FIELDS = (
    "id",
    "event_type",
    "created_at",
    "subject_changed_at",
    "user_id",
    "payload_changes",
)
MAX_ONLY = 200


@dataclass(frozen=True)
class EventBatch:
    """Events read after a cursor: each once, in change order, and where to resume."""

    events: list[Record]
    cursor: str | None
    more: bool


def read_events(
    connector: KantataConnector, event_types: str, cursor: str | None, limit: int
) -> EventBatch:
    """Up to ``limit`` events of ``event_types`` after ``cursor`` (see ``changes``)."""
    overlap = dt.timedelta(seconds=connector.config.event_overlap_seconds)
    start = Cursor.decode(cursor)
    params: dict[str, Any] = {
        "event_types": event_types,
        "order": "created_at:asc",
        "optional_fields": "current_payload,previous_payload,payload_changes",
        "per_page": connector.config.per_page,
    }
    if start.after is not None:
        params["created_after"] = (start.after - overlap).isoformat()
    window: list[Record] = []
    page, complete = 1, False
    while not complete:
        body = connector.call("GET", "subscribed_events", params={**params, "page": page})
        window += wire.records(connector.system, body, "subscribed_events")
        complete = page >= wire.page_count(connector.system, body)
        if read_enough(window, start, limit, overlap):
            break
        page += 1
    new = fresh(window, start)
    delivered = new[:limit]
    after = advance(start, delivered, window, overlap)
    return EventBatch(delivered, after.encode() or cursor, more=len(new) > limit or not complete)


class WorkspaceEvents:
    """One read of workspace events, turned into native changes.

    Each change carries the workspace as the event saw it (``current_payload``; for a delete,
    ``previous_payload``), Interlock's external references on it, and the event's metadata.
    """

    def __init__(self, connector: KantataConnector) -> None:
        self.connector = connector

    def read(self, cursor: str | None, limit: int) -> ChangePage:
        """Up to ``limit`` changes after ``cursor``, in the order they happened."""
        batch = read_events(self.connector, WORKSPACE_EVENTS, cursor, limit)
        return ChangePage(self._changes(batch.events), batch.cursor, more=batch.more)

    def _changes(self, events: list[Record]) -> list[NativeChange]:
        live = sorted({str(e["subject_id"]) for e in events if not deleted(e)})
        current: dict[str, tuple[Record, list[Record]]] = {}
        for start in range(0, len(live), MAX_ONLY):
            workspaces, side = self.connector.list_all(
                "workspaces",
                {
                    "only": ",".join(live[start : start + MAX_ONLY]),
                    "include_archived": "true",
                    "include": "external_references",
                },
                "workspaces",
            )
            current.update(
                {str(w["id"]): (w, self.connector.references_in(side, w)) for w in workspaces}
            )
        return [_change(event, current.get(str(event["subject_id"]))) for event in events]


def deleted(event: Record) -> bool:
    """Whether the event records a delete."""
    return str(event["event_type"]).endswith(":deleted")


def _change(event: Record, now: tuple[Record, list[Record]] | None) -> NativeChange:
    subject_id = str(event["subject_id"])
    seen = event.get("previous_payload") if deleted(event) else event.get("current_payload")
    payload = {
        "workspace": seen or (now[0] if now else {"id": subject_id}),
        "external_references": now[1] if now else [],
        "event": {k: event.get(k) for k in EVENT_FIELDS},
    }
    return NativeChange(
        kind="project",
        native_id=subject_id,
        version=f"{event['subject_changed_at']}/{event['id']}",
        changed_at=parse_time(str(event["subject_changed_at"])),
        payload=payload,
        deleted=deleted(event),
    )
