"""JetStream → journal against the real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from interlock.engine import Engine
from interlock.events import CloudEvent
from interlock.exceptions import ConfigError, StoreError
from interlock.fabric import INVALID_TYPE, NatsInbound, NatsSettings, OutboxRelay
from interlock.fabric import inbound as inbound_module
from interlock.store import Store, counters, outbox
from interlock.store.schema import journal

from .jetstream import consumer_state, publish

TYPE = "interlock.opportunity.changed.v1"


class Crash(Exception):
    """The process dies here."""


def external(n: int, source: str = "/systems/crm") -> CloudEvent:
    return CloudEvent(source=source, type=TYPE, subject=f"opp-{n}", data={"amount": n * 100})


def body(event: CloudEvent) -> bytes:
    return orjson.dumps(event.to_json())


def journaled(store: Store) -> list[dict[str, Any]]:
    with store.transaction() as conn:
        rows = conn.execute(
            sa.select(journal.c.type, journal.c.dedup_key, journal.c.envelope).order_by(
                journal.c.id
            )
        )
        return [dict(r._mapping) for r in rows]


def drained(inbound: NatsInbound, expected: int, within: float = 10.0) -> int:
    """Pull until ``expected`` messages were handled (redeliveries come after ack_wait)."""
    deadline = time.monotonic() + within
    handled = 0
    while handled < expected and time.monotonic() < deadline:
        handled += inbound.pull_once()
    return handled


def test_each_event_is_journaled_once_however_often_it_arrives(
    store: Store, fabric: NatsSettings
) -> None:
    subject = f"{fabric.subject_prefix}{TYPE}"
    events = [external(n) for n in range(20)]
    with NatsInbound(store, fabric) as inbound:
        inbound.pull_once()  # creates the stream and the durable consumer
        first = publish([(subject, body(e), {"Nats-Msg-Id": e.id}) for e in events])
        same_msg_id = publish([(subject, body(e), {"Nats-Msg-Id": e.id}) for e in events[:5]])
        new_msg_id = publish(
            [(subject, body(e), {"Nats-Msg-Id": uuid.uuid4().hex}) for e in events[5:10]]
        )
        assert (first, same_msg_id, new_msg_id) == ([False] * 20, [True] * 5, [False] * 5)
        assert drained(inbound, 25) == 25  # JetStream itself dropped the five same-msg-id copies

        assert inbound.stats.journaled == 20
        assert inbound.stats.duplicates == 5
    rows = journaled(store)
    assert [CloudEvent.model_validate(r["envelope"]) for r in rows] == events  # stream order
    assert rows[0]["dedup_key"] == f"nats:{fabric.stream}:/systems/crm {events[0].id}"
    assert consumer_state(fabric.stream, fabric.durable) == (0, 0)


def test_a_crash_after_the_commit_redelivers_and_the_journal_drops_the_repeat(
    store: Store, fabric: NatsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fabric.model_copy(update={"ack_wait_seconds": 1.0})
    subject = f"{settings.subject_prefix}{TYPE}"
    events = [external(n) for n in range(10)]

    async def crash(*_: object) -> None:
        raise Crash

    with NatsInbound(store, settings) as inbound, monkeypatch.context() as patch:
        inbound.pull_once()
        publish([(subject, body(e), {"Nats-Msg-Id": e.id}) for e in events])
        patch.setattr(inbound_module, "_ack_all", crash)
        with pytest.raises(Crash):
            drained(inbound, 10)
    assert len(journaled(store)) == 10
    assert consumer_state(settings.stream, settings.durable) == (0, 10)  # delivered, unacked

    with NatsInbound(store, settings) as restarted:
        assert drained(restarted, 10) == 10
        assert restarted.stats.duplicates == 10
        assert restarted.stats.journaled == 0
    assert [CloudEvent.model_validate(r["envelope"]) for r in journaled(store)] == events
    assert consumer_state(settings.stream, settings.durable) == (0, 0)


def test_a_failed_transaction_acknowledges_nothing_and_loses_nothing(
    store: Store, fabric: NatsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fabric.model_copy(update={"ack_wait_seconds": 1.0})
    subject = f"{settings.subject_prefix}{TYPE}"
    events = [external(n) for n in range(10)]

    def database_down(*_: object) -> None:
        raise StoreError("database error while journaling events from NATS: OperationalError")

    with NatsInbound(store, settings) as inbound:
        inbound.pull_once()
        publish([(subject, body(e), {"Nats-Msg-Id": e.id}) for e in events])
        with monkeypatch.context() as patch:
            patch.setattr(inbound_module, "journal_deliveries", database_down)
            with pytest.raises(StoreError):
                drained(inbound, 10)
        assert journaled(store) == []
        assert drained(inbound, 10) == 10  # delivered again after ack_wait
    assert [CloudEvent.model_validate(r["envelope"]) for r in journaled(store)] == events
    assert consumer_state(settings.stream, settings.durable) == (0, 0)


def test_unreadable_bodies_are_kept_verbatim_acknowledged_and_ignored_by_the_engine(
    store: Store, fabric: NatsSettings
) -> None:
    subject = f"{fabric.subject_prefix}{TYPE}"
    good = external(1)
    bad: dict[str, bytes] = {
        "(body)": b"\xff\xfe not even utf-8",
        "type": body(good).replace(TYPE.encode(), b"opportunity-changed"),
        "traceparent": orjson.dumps({**good.to_json(), "traceparent": "00-abc"}),
        "id": orjson.dumps({**good.to_json(), "id": "x" * 65}),
    }
    with NatsInbound(store, fabric) as inbound:
        inbound.pull_once()
        publish([(subject, b, {}) for b in bad.values()] + [(subject, body(good), {})])
        publish([(subject, bad["(body)"], {})])  # the same bad body again
        assert drained(inbound, 6) == 6
        assert (inbound.stats.invalid, inbound.stats.journaled) == (4, 1)
        assert inbound.stats.duplicates == 1
    assert consumer_state(fabric.stream, fabric.durable) == (0, 0)

    rows = journaled(store)
    invalid = [CloudEvent.model_validate(r["envelope"]) for r in rows if r["type"] == INVALID_TYPE]
    assert len(invalid) == 4
    for (field, original), record in zip(bad.items(), invalid, strict=True):
        data = record.data
        kept = base64.b64decode(data["body"]) if data["encoding"] == "base64" else data["body"]
        assert kept == (original if data["encoding"] == "base64" else original.decode())
        assert field in [p["field"] for p in data["problems"]]
        assert (data["stream"], data["subject"]) == (fabric.stream, subject)
    with store.transaction() as conn:
        assert counters.read(conn)["fabric_invalid_events"] == 4

    Engine(store, {}, {}, [], []).dispatch()
    with store.transaction() as conn:
        statuses = conn.execute(
            sa.select(journal.c.status).where(journal.c.type == INVALID_TYPE)
        ).scalars()
        assert set(statuses) == {"ignored"}


def test_events_this_hub_published_do_not_come_back_as_work(
    store: Store, fabric: NatsSettings
) -> None:
    ours = [CloudEvent(source="/interlock", type=TYPE, data={"n": n}) for n in range(3)]
    ours.append(CloudEvent(source="/interlock/flows/mobilize", type=TYPE, data={"n": 3}))
    theirs = [external(n, source="/interlock-other") for n in range(2)]
    with store.transaction() as conn:
        for event in ours + theirs:
            outbox.enqueue(conn, event)
    with OutboxRelay(store, fabric) as relay, NatsInbound(store, fabric) as inbound:
        assert relay.relay_all() == 6
        assert drained(inbound, 6) == 6
        assert (inbound.stats.own, inbound.stats.journaled) == (4, 2)
    assert [CloudEvent.model_validate(r["envelope"]) for r in journaled(store)] == theirs
    with store.transaction() as conn:
        assert counters.read(conn)["fabric_own_events_skipped"] == 4


def test_a_durable_consumer_with_another_filter_is_a_config_error(
    store: Store, fabric: NatsSettings
) -> None:
    with NatsInbound(store, fabric) as inbound:
        inbound.pull_once()
    narrower = fabric.model_copy(
        update={"inbound_subject": f"{fabric.subject_prefix}interlock.project.>"}
    )
    with NatsInbound(store, narrower) as inbound, pytest.raises(ConfigError) as caught:
        inbound.pull_once()
    assert caught.value.key == "INTERLOCK_NATS_DURABLE"
