"""Transactions of the emulated org: undo on failure, change events on commit.

Every write runs inside a transaction; nested ones are savepoints. A failing savepoint undoes
its own writes only (``allOrNone: false`` collections); a failing outermost transaction undoes
everything and publishes nothing. On commit, each write becomes a Change Data Capture event;
the events of one transaction share ``transactionKey`` and number ``sequenceNumber`` from 1.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from interlock.sandbox.salesforce.schema import SObject

Record = dict[str, Any]
_NOT_IN_EVENTS = frozenset({"Id", "IsDeleted", "SystemModstamp"})


@dataclass(frozen=True)
class PendingChange:
    """A write waiting for its transaction to commit, with the fields its event will carry."""

    entity: str
    record_id: str
    change_type: str
    changed_fields: list[str]
    nulled_fields: list[str]
    fields: dict[str, Any]


@dataclass
class Transaction:
    """An open transaction: who writes, through which API, and how to undo it.

    Attributes:
        origin: The ``changeOrigin`` of its events ('' for changes made in the UI/in process).
        user_id: The user it acts as (``LastModifiedById``, ``commitUser``).
    """

    origin: str
    user_id: str
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    undo: list[tuple[str, str, Record | None]] = field(default_factory=list)
    changes: list[PendingChange] = field(default_factory=list)

    def mark(self) -> tuple[int, int]:
        """A savepoint."""
        return len(self.undo), len(self.changes)

    def remember(self, sobject: str, record_id: str, before: Record | None) -> None:
        """Note a record's state before a write (None: the write creates it)."""
        self.undo.append((sobject, record_id, dict(before) if before is not None else None))

    def rollback(self, mark: tuple[int, int], records: dict[str, dict[str, Record]]) -> None:
        """Undo the writes after ``mark`` and forget their events."""
        undo_len, changes_len = mark
        while len(self.undo) > undo_len:
            sobject, record_id, before = self.undo.pop()
            if before is None:
                records[sobject].pop(record_id, None)
            else:
                records[sobject][record_id] = before
        del self.changes[changes_len:]


def pending_change(
    obj: SObject, change_type: str, record: Record, before: Record | None
) -> PendingChange:
    """The event of one write, in CometD's shape: null and unchanged fields are left out.

    ``changedFields`` lists the fields an UPDATE changed (always ``LastModifiedDate``);
    ``nulledFields`` those it set to null. CREATE and UNDELETE carry every non-null field,
    DELETE none.
    """
    names = [f.name for f in obj.fields if f.name not in _NOT_IN_EVENTS]
    changed: list[str] = []
    if change_type == "UPDATE" and before is not None:
        changed = [n for n in names if before.get(n) != record.get(n)]
        if "LastModifiedDate" not in changed:
            changed.append("LastModifiedDate")
        shown = changed
    elif change_type == "DELETE":
        shown = []
    else:
        shown = names
    fields = {n: event_value(record.get(n)) for n in shown if record.get(n) is not None}
    nulled = [n for n in changed if record.get(n) is None]
    return PendingChange(obj.name, str(record["Id"]), change_type, changed, nulled, fields)


def event_value(value: Any) -> Any:
    """A stored value as CometD change events show it: datetimes as UTC strings with ``Z``."""
    if isinstance(value, str) and len(value) == 28 and value.endswith("+0000") and "T" in value:
        return value[:-5] + "Z"
    return value


def event_name(entity: str) -> str:
    """``OpportunityChangeEvent``; custom objects drop the ``c``: ``SOW_Line__ChangeEvent``."""
    return (entity[:-1] if entity.endswith("__c") else entity) + "ChangeEvent"
