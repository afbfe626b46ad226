"""Canonical events arriving from NATS: validated, our own dropped, each journaled once.

Nothing here talks to NATS; ``NatsInbound`` hands over the bytes of each delivery and acks
after the transaction this runs in has committed.

* **Dedup.** A valid event's key is ``nats:<stream>:<source> <id>``: CloudEvents makes
  (source, id) unique per event, so a repeat is dropped whether it is a redelivery, a
  re-publish with a new ``Nats-Msg-Id`` or a copy published after the duplicate window.
  (A source is a URI reference, so it holds no space and the key is unambiguous.)
* **Own events.** An event whose source is ``own_source`` (or below it) is what this hub
  published; it is counted and acknowledged, never journaled as new work.
* **Invalid bodies.** A body that is not a canonical CloudEvent is kept, not lost: it is
  journaled as an ``interlock.fabric.invalid.v1`` event carrying the original bytes, the
  headers, where it came from and each broken rule. No flow triggers on that type, so the
  engine marks it ``ignored`` and it stays in the journal for people to read. Its key is the
  SHA-256 of the body, so a redelivery is recorded once.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import ValidationError

from interlock.events import CloudEvent
from interlock.exceptions import FieldProblem
from interlock.store import counters, journal

INVALID_TYPE = "interlock.fabric.invalid.v1"


@dataclass(frozen=True)
class Delivery:
    """One message as NATS delivered it."""

    stream: str
    subject: str
    sequence: int
    body: bytes
    headers: Mapping[str, str]


@dataclass
class Tally:
    """What became of a batch of deliveries."""

    journaled: int = 0
    duplicates: int = 0
    own: int = 0
    invalid: int = 0

    def add(self, other: Tally) -> None:
        """Add ``other``'s counts to these."""
        self.journaled += other.journaled
        self.duplicates += other.duplicates
        self.own += other.own
        self.invalid += other.invalid


def dedup_key(stream: str, event: CloudEvent) -> str:
    """The journal key that makes a repeat of ``event`` from ``stream`` a duplicate."""
    return f"nats:{stream}:{event.source} {event.id}"


def parse(body: bytes) -> CloudEvent | list[FieldProblem]:
    """The canonical CloudEvent in ``body`` (JSON, structured mode), or what is wrong."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return [FieldProblem("(body)", f"is not JSON: {exc}")]
    if not isinstance(data, dict):
        return [FieldProblem("(body)", "must be a JSON object (CloudEvents structured mode)")]
    if b"\\u0000" in body and _has_nul(data):
        return [FieldProblem("(body)", "holds a NUL character (\\u0000); the store cannot keep it")]
    try:
        event = CloudEvent.model_validate(data)
    except ValidationError as exc:
        return [
            FieldProblem(".".join(str(p) for p in err["loc"]) or "(body)", err["msg"])
            for err in exc.errors()
        ]
    return journal.envelope_problems(event) or event


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def is_own(event: CloudEvent, own_source: str) -> bool:
    """Whether ``event`` was emitted by this hub."""
    return event.source == own_source or event.source.startswith(own_source.rstrip("/") + "/")


def invalid_record(delivery: Delivery, problems: Sequence[FieldProblem]) -> CloudEvent:
    """An event that keeps an unreadable delivery, byte for byte, with what is wrong with it."""
    digest = hashlib.sha256(delivery.body).hexdigest()
    try:
        text, encoding = delivery.body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = "", "base64"
    if encoding == "base64" or "\x00" in text:  # JSON columns cannot hold NUL
        text, encoding = base64.b64encode(delivery.body).decode("ascii"), "base64"
    data: dict[str, Any] = {
        "stream": delivery.stream,
        "subject": delivery.subject,
        "sequence": delivery.sequence,
        "headers": dict(delivery.headers),
        "problems": [{"field": p.field, "rule": p.rule} for p in problems],
        "body": text,
        "encoding": encoding,
        "sha256": digest,
    }
    return CloudEvent(
        id=digest, source=f"/fabric/nats/{delivery.stream}", type=INVALID_TYPE, data=data
    )


def journal_deliveries(
    conn: sa.Connection, deliveries: Sequence[Delivery], own_source: str
) -> Tally:
    """Journal each delivery once, in the caller's transaction, and count what happened."""
    tally = Tally()
    entries: list[tuple[CloudEvent, str]] = []
    for delivery in deliveries:
        parsed = parse(delivery.body)
        if not isinstance(parsed, CloudEvent):
            record = invalid_record(delivery, parsed)
            entries.append((record, f"nats:{delivery.stream}:invalid:{record.id}"))
        elif is_own(parsed, own_source):
            tally.own += 1
        else:
            entries.append((parsed, dedup_key(delivery.stream, parsed)))
    added = journal.append_many(conn, entries)
    for event, key in entries:
        if key not in added:
            tally.duplicates += 1
        elif event.type == INVALID_TYPE:
            tally.invalid += 1
        else:
            tally.journaled += 1
        added.discard(key)  # a second copy in the same batch is a duplicate
    for name, amount in (
        ("fabric_own_events_skipped", tally.own),
        ("fabric_invalid_events", tally.invalid),
        ("fabric_duplicates_dropped", tally.duplicates),
    ):
        if amount:
            counters.add(conn, name, amount)
    return tally
