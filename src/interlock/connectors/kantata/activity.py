"""Time entry, expense and assignment changes from Kantata's Subscribed Events.

Each kind reads its own event types with its own cursor (``events.read_events``: duplicates
dropped, change order, resumable). The events of one record within a read collapse into one
change that carries the record as Kantata holds it *now*, fetched after the read, so a draft
created and approved in the same window arrives once, approved. The change remembers whether
one of its events approved the record (``approval``); ``classify`` says "approved" only then,
so later edits of an approved entry are "changed" and an approval is announced once.

A record gone by the time it is fetched is skipped: its ``deleted`` event is in the log and
arrives as a change of its own (with the record as it was, from the event).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interlock.connectors.base import ChangePage, NativeChange
from interlock.connectors.kantata.changes import parse_time
from interlock.connectors.kantata.events import deleted, read_events
from interlock.connectors.kantata.ledger import approval_seen

if TYPE_CHECKING:
    from interlock.connectors.kantata.client import KantataConnector

Record = dict[str, Any]
MAX_ONLY = 200
EVENT_FIELDS = ("id", "event_type", "created_at", "subject_changed_at", "payload_changes")


@dataclass(frozen=True)
class Source:
    """Where the changes of one canonical kind come from.

    Attributes:
        prefix: Event type prefix (``time_entry`` reads ``time_entry:created|updated|deleted``).
        index: The endpoint listing the records.
        include: Side-loads fetched with the records.
        subject_type: The records' subject type in external references.
    """

    prefix: str
    index: str
    include: str
    subject_type: str

    @property
    def event_types(self) -> str:
        """The ``event_types`` filter of this kind."""
        return ",".join(f"{self.prefix}:{a}" for a in ("created", "updated", "deleted"))


SOURCES = {
    "time_entry": Source(
        "time_entry", "time_entries", "active_submission,external_references", "TimeEntry"
    ),
    "expense": Source("expense", "expenses", "active_submission,external_references", "Expense"),
    "assignment": Source(
        "workspace_allocation",
        "workspace_allocations",
        "workspace_resource,external_references",
        "WorkspaceAllocation",
    ),
}
LINKS = {"workspace": "Workspace", "story": "Story", "user": "User"}


class RecordEvents:
    """One read of one kind's events, turned into one native change per record."""

    def __init__(self, connector: KantataConnector, kind: str) -> None:
        self.connector = connector
        self.kind = kind
        self.source = SOURCES[kind]

    def read(self, cursor: str | None, limit: int) -> ChangePage:
        """Up to ``limit`` events' worth of changes after ``cursor``, oldest change first."""
        batch = read_events(self.connector, self.source.event_types, cursor, limit)
        groups: dict[str, list[Record]] = {}
        for event in batch.events:
            # Re-inserted, so a record's change sits where its last event does.
            subject = str(event["subject_id"])
            groups[subject] = [*groups.pop(subject, []), event]
        live = [s for s, events in groups.items() if not deleted(events[-1])]
        current, side = self._fetch(live)
        changes: list[NativeChange] = []
        for subject, events in groups.items():
            last = events[-1]
            if deleted(last):
                record = last.get("previous_payload") or {"id": subject}
            elif subject in current:
                record = current[subject]
            else:
                continue
            changes.append(self._change(subject, events, record, side))
        self._link(changes)
        return ChangePage(changes, batch.cursor, more=batch.more)

    def _fetch(self, ids: list[str]) -> tuple[dict[str, Record], dict[str, dict[str, Record]]]:
        found: dict[str, Record] = {}
        side: dict[str, dict[str, Record]] = {}
        params = {"include": self.source.include}
        if self.kind == "time_entry":
            params["from_archived_workspaces"] = "true"
        for start in range(0, len(ids), MAX_ONLY):
            records, loaded = self.connector.list_all(
                self.source.index,
                {**params, "only": ",".join(ids[start : start + MAX_ONLY])},
                self.source.index,
            )
            found.update({str(r["id"]): r for r in records})
            for name, objects in loaded.items():
                side.setdefault(name, {}).update(objects)
        return found, side

    def _change(
        self, subject: str, events: list[Record], record: Record, side: dict[str, dict[str, Record]]
    ) -> NativeChange:
        last = events[-1]
        submissions = side.get("timesheet_submissions", {}) | side.get(
            "expense_report_submissions", {}
        )
        resource = side.get("workspace_resources", {}).get(str(record.get("workspace_resource_id")))
        payload: Record = {
            "record": record,
            "submission": submissions.get(str(record.get("active_submission_id"))),
            "resource": resource,
            "references": {"own": self.connector.references_in(side, record)},
            "events": [{k: e.get(k) for k in EVENT_FIELDS} for e in events],
            "approval": approval_seen(events),
        }
        return NativeChange(
            kind=self.kind,
            native_id=subject,
            version=f"{last['subject_changed_at']}/{last['id']}",
            changed_at=parse_time(str(last["subject_changed_at"])),
            payload=payload,
            deleted=deleted(last),
        )

    def _link(self, changes: list[NativeChange]) -> None:
        """Add Interlock's references on each change's workspace, story and user."""
        wanted: dict[str, set[str]] = {name: set() for name in LINKS}
        for change in changes:
            for name, native_id in _targets(change.payload).items():
                if native_id:
                    wanted[name].add(native_id)
        found = {name: self._references(LINKS[name], ids) for name, ids in wanted.items()}
        for change in changes:
            references = change.payload["references"]
            for name, native_id in _targets(change.payload).items():
                references[name] = found[name].get(native_id or "", [])

    def _references(self, subject_type: str, ids: set[str]) -> dict[str, list[Record]]:
        ordered = sorted(ids)
        by_subject: dict[str, list[Record]] = {}
        for start in range(0, len(ordered), MAX_ONLY):
            refs, _ = self.connector.list_all(
                "external_references",
                {
                    "subject_type": subject_type,
                    "subject_id": ",".join(ordered[start : start + MAX_ONLY]),
                    "service_name": self.connector.service_name,
                },
                "external_references",
            )
            for ref in refs:
                by_subject.setdefault(str(ref["subject_id"]), []).append(ref)
        return by_subject


def _targets(payload: Record) -> dict[str, str | None]:
    """Native ids of the workspace, story and user a change's record points at."""
    record, resource = payload["record"], payload.get("resource") or {}
    holder = resource if "workspace_resource_id" in record else record
    return {
        "workspace": _text(holder.get("workspace_id")),
        "story": _text(record.get("story_id")),
        "user": _text(holder.get("user_id")),
    }


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
