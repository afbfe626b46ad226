"""Ingestion: read changes from source systems and journal each exactly once."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import BaseModel

from interlock.connectors.base import Connector, NativeChange
from interlock.events import CloudEvent, event_type
from interlock.exceptions import ContractViolation, FieldProblem
from interlock.model import CONTRACTS, canonical_id, validate_contract
from interlock.store import Store, counters, fingerprints, journal

_EVENTS = uuid.UUID("0b8e2f5e-4f7a-4c55-8f1e-7f3a0d6c9e11")


def dedup_key(system: str, change: NativeChange) -> str:
    """The key that makes a redelivered change a duplicate: system, kind, id and version."""
    return f"{system}:{change.kind}:{change.native_id}:{change.version}"


def change_event(connector: Connector, change: NativeChange) -> CloudEvent:
    """Wrap a native change in a CloudEvent.

    Its id is derived from the dedup key, so the same change always gets the same event id,
    whichever worker reads it.
    """
    key = dedup_key(connector.system, change)
    event_id = uuid.uuid5(_EVENTS, key).hex
    return CloudEvent(
        id=event_id,
        source=f"/systems/{connector.system}",
        type=event_type(change.kind, connector.classify(change)),
        subject=canonical_id(change.kind, connector.system, change.native_id),
        time=change.changed_at,
        correlationid=event_id,
        data={
            "system": connector.system,
            "kind": change.kind,
            "native_id": change.native_id,
            "version": change.version,
            "deleted": change.deleted,
            "payload": change.payload,
        },
    )


def native_change(event: CloudEvent) -> NativeChange:
    """The native change an ingested event carries."""
    data = event.data
    return NativeChange(
        kind=str(data["kind"]),
        native_id=str(data["native_id"]),
        version=str(data["version"]),
        changed_at=event.time,
        payload=dict(data["payload"]),
        deleted=bool(data["deleted"]),
    )


def journal_changes(
    store: Store,
    connector: Connector,
    changes: Sequence[NativeChange],
    *,
    cursor: tuple[str, str | None] | None = None,
) -> int:
    """Journal ``changes`` read from (or pushed by) ``connector``, each exactly once.

    Changes the connector recognises as echoes of the hub's own writes are dropped. When
    ``cursor`` is given as (kind, position), the cursor moves in the same transaction.
    Returns the number of new journal entries.
    """
    added = 0
    with store.transaction("journaling changes") as conn:
        for change in changes:
            if _echo(conn, connector, change):
                counters.add(conn, "echoes_dropped")
                continue
            event = change_event(connector, change)
            if journal.append(conn, event, dedup_key(connector.system, change)) is not None:
                added += 1
        if cursor is not None:
            journal.set_cursor(conn, connector.system, cursor[0], cursor[1])
    return added


def _echo(conn: sa.Connection, connector: Connector, change: NativeChange) -> bool:
    if connector.is_own_change(change):
        return True
    fingerprint = connector.change_fingerprint(change)
    return fingerprint is not None and fingerprints.is_known(
        conn, connector.system, change.kind, change.native_id, fingerprint
    )


def poll(store: Store, connector: Connector, kind: str, limit: int = 200) -> tuple[int, bool]:
    """Read one page of changes and journal them; the cursor moves in the same transaction.

    Returns (new entries journaled, more pages waiting).
    """
    with store.transaction("reading the change cursor") as conn:
        position = journal.get_cursor(conn, connector.system, kind)
    page = connector.read_changes(kind, position, limit)
    moved = (kind, page.cursor) if page.cursor != position else None
    return journal_changes(store, connector, page.changes, cursor=moved), page.more


SUBMIT_INVALID_TYPE = "interlock.submit.invalid.v1"
_REFUSED_SOURCE = "/interlock/submit"
_NUL_RULE = "holds a NUL character (\\u0000), which the store cannot keep"
_SPACE = re.compile(r"\s")


@dataclass
class Submitted:
    """What became of submitted events."""

    journaled: int = 0
    duplicates: int = 0
    rejected: list[ContractViolation] = field(default_factory=list)


def _contract_of(event: CloudEvent) -> type[BaseModel] | None:
    parts = event.type.split(".")
    return CONTRACTS.get(parts[1]) if len(parts) >= 4 and parts[0] == "interlock" else None


def _nul_paths(value: Any, path: str = "") -> list[str]:
    if isinstance(value, str):
        return [path or "(root)"] if "\x00" in value else []
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            for found in _nul_paths(item, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in _nul_paths(item, f"{path}.{i}")]
    return []


def _problems(event: CloudEvent) -> list[FieldProblem]:
    """Every rule ``event`` breaks: what the journal can hold, then its contract."""
    problems = journal.envelope_problems(event)
    envelope = {name: getattr(event, name) for name in journal.ENVELOPE_LIMITS}
    if b"\\u0000" in orjson.dumps([envelope, event.data]):  # quick; then name the fields
        paths = _nul_paths(envelope) + _nul_paths(event.data)
        problems += [FieldProblem(path, _NUL_RULE) for path in paths]
    contract = _contract_of(event)
    if contract is None:
        problems.append(FieldProblem("type", f"{event.type!r} names no canonical contract"))
    else:
        try:
            validate_contract(contract, event.data, subject=f"event {event.id}")
        except ContractViolation as exc:
            problems += exc.problems
    return problems


def _fits(value: str | None, name: str) -> bool:
    return value is None or (len(value) <= journal.ENVELOPE_LIMITS[name] and "\x00" not in value)


def _kept(event: CloudEvent, problems: Sequence[FieldProblem]) -> tuple[CloudEvent, str]:
    """The journal record of a refused event and its dedup key, storable whatever it holds.

    The original is under ``event``, or as JSON text under ``event_json`` when it holds a NUL.
    Envelope values the journal cannot hold are replaced (the original keeps them).
    """
    original = event.to_json()
    data: dict[str, Any] = {"problems": [{"field": p.field, "rule": p.rule} for p in problems]}
    if _nul_paths(original):
        data["event_json"] = orjson.dumps(original).decode()
    else:
        data["event"] = original
    digest = hashlib.sha256(f"{event.source} {event.id}".encode()).hexdigest()
    same_key = _fits(event.id, "id") and _fits(event.source, "source")
    same_key = same_key and not _SPACE.search(event.source)
    kept = CloudEvent(
        id=event.id if _fits(event.id, "id") else digest,
        source=event.source if _fits(event.source, "source") else _REFUSED_SOURCE,
        type=SUBMIT_INVALID_TYPE,
        subject=event.subject if _fits(event.subject, "subject") else None,
        time=event.time,
        data=data,
    )
    # Not "submit:": no valid event's key can equal a refused one's, whatever its id holds.
    key = f"submit-refused:{event.source} {event.id}" if same_key else f"submit-refused:{digest}"
    return kept, key


def submit(store: Store, events: Sequence[CloudEvent]) -> Submitted:
    """Journal canonical events handed to the hub (API, bulk loads), in one transaction.

    Each event's ``data`` must satisfy the canonical contract its type names
    (``interlock.time_entry.approved.v1`` → ``time_entry``), and its envelope must fit the
    journal (id, source, type, subject within their widths, no NUL anywhere, no whitespace in
    the source). An event that does not is not lost: it is journaled as
    ``interlock.submit.invalid.v1`` with the original event and every broken rule (no flow
    triggers on that type), and its error is returned. A repeat of an event already journaled
    (same source and id) is dropped and counted.
    """
    result = Submitted()
    entries: list[tuple[CloudEvent, str]] = []
    refused: set[str] = set()
    for event in events:
        problems = _problems(event)
        if not problems:
            entries.append((event, f"submit:{event.source} {event.id}"))
            continue
        result.rejected.append(ContractViolation(f"event {event.id[:80]}", problems))
        kept, key = _kept(event, problems)
        entries.append((kept, key))
        refused.add(key)
    with store.transaction("journaling submitted events") as conn:
        added = journal.append_many(conn, entries)
        for _, key in entries:
            if key in added:
                added.discard(key)  # a second copy in the same batch is a duplicate
                if key not in refused:
                    result.journaled += 1
            else:
                result.duplicates += 1
        if result.duplicates:
            counters.add(conn, "submitted_duplicates_dropped", result.duplicates)
        if result.rejected:
            counters.add(conn, "submitted_invalid_events", len(result.rejected))
    return result


def submit_events(store: Store, events: Sequence[CloudEvent]) -> int:
    """``submit``, returning how many events were newly journaled."""
    return submit(store, events).journaled
