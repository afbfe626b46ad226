"""Outbox → JetStream against the real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import orjson
import pytest

from interlock.events import CloudEvent
from interlock.exceptions import ConfigError, ConnectorUnavailable
from interlock.fabric import NatsInbound, NatsSettings, OutboxRelay
from interlock.store import Store, outbox

from .jetstream import delete_stream, read_stream, stream_config


class Crash(Exception):
    """The process dies here."""


TYPES = ("interlock.project.created.v1", "interlock.assignment.changed.v1")


def emitted(n: int) -> CloudEvent:
    return CloudEvent(
        source="/interlock",
        type=TYPES[n % 2],
        subject=f"deal-{n % 7}",
        data={"n": n, "name": f"Project {n}"},
    )


def fill_outbox(store: Store, count: int) -> list[CloudEvent]:
    events = [emitted(n) for n in range(count)]
    with store.transaction() as conn:
        for event in events:
            outbox.enqueue(conn, event)
    return events


def backlog(store: Store) -> int:
    with store.transaction() as conn:
        return outbox.backlog(conn)


def test_every_outbox_event_is_stored_once_in_order_with_its_msg_id(
    store: Store, fabric: NatsSettings
) -> None:
    events = fill_outbox(store, 600)
    with OutboxRelay(store, fabric) as relay:
        assert relay.relay_all() == 600  # three rounds of relay_batch=256
        assert relay.relay_once() == 0
    assert backlog(store) == 0

    stored = read_stream(fabric.stream)
    assert [m.headers["Nats-Msg-Id"] for m in stored] == [e.id for e in events]
    assert [m.subject for m in stored] == [f"{fabric.subject_prefix}{e.type}" for e in events]
    assert {m.headers["Content-Type"] for m in stored} == {
        "application/cloudevents+json; charset=utf-8"
    }
    assert [CloudEvent.model_validate(orjson.loads(m.body)) for m in stored] == events


def test_a_crash_between_publish_and_mark_only_publishes_again(
    store: Store, fabric: NatsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = fill_outbox(store, 50)

    def crash(*_: object, **__: object) -> None:
        raise Crash

    with OutboxRelay(store, fabric) as relay, monkeypatch.context() as patch:
        patch.setattr(outbox, "mark_published", crash)
        with pytest.raises(Crash):
            relay.relay_once()
    assert backlog(store) == 50  # the marks were rolled back
    assert len(read_stream(fabric.stream)) == 50  # but JetStream has them

    with OutboxRelay(store, fabric) as restarted:
        assert restarted.relay_all() == 50
        assert restarted.stats.duplicates == 50  # dropped by JetStream's duplicate window
    assert backlog(store) == 0
    stored = read_stream(fabric.stream)
    assert [m.headers["Nats-Msg-Id"] for m in stored] == [e.id for e in events]


def test_two_relays_share_the_outbox_and_store_each_message_once(
    store: Store, fabric: NatsSettings
) -> None:
    events = fill_outbox(store, 2000)
    relays = [OutboxRelay(store, fabric.model_copy(update={"relay_batch": 100})) for _ in "ab"]
    threads = [threading.Thread(target=r.relay_all) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for relay in relays:
        relay.close()
    assert backlog(store) == 0
    assert sum(r.stats.published for r in relays) == 2000
    assert sum(r.stats.duplicates for r in relays) == 0
    stored = read_stream(fabric.stream)
    assert sorted(m.headers["Nats-Msg-Id"] for m in stored) == sorted(e.id for e in events)


def test_nats_down_is_retryable_and_marks_nothing(store: Store, fabric: NatsSettings) -> None:
    fill_outbox(store, 5)
    down = fabric.model_copy(update={"url": "nats://127.0.0.1:1", "connect_timeout_seconds": 0.5})
    started = time.monotonic()
    with OutboxRelay(store, down) as relay, pytest.raises(ConnectorUnavailable) as caught:
        relay.relay_once()
    assert caught.value.retryable
    assert caught.value.system == "nats"
    assert time.monotonic() - started < 5
    assert backlog(store) == 5


def test_the_stream_follows_the_settings(store: Store, fabric: NatsSettings) -> None:
    fill_outbox(store, 1)
    with OutboxRelay(store, fabric) as relay:
        relay.relay_once()
    narrower = fabric.model_copy(update={"duplicate_window_seconds": 30.0})
    fill_outbox(store, 1)
    with OutboxRelay(store, narrower) as relay:
        assert relay.relay_once() == 1
    assert stream_config(fabric.stream)["duplicate_window"] == 30.0
    assert stream_config(fabric.stream)["storage"] == "file"


def test_a_stream_whose_subjects_overlap_another_is_a_config_error(
    store: Store, fabric: NatsSettings
) -> None:
    fill_outbox(store, 1)
    with OutboxRelay(store, fabric) as relay:
        relay.relay_once()
    rival = fabric.model_copy(update={"stream": f"{fabric.stream}_RIVAL"})
    try:
        fill_outbox(store, 1)
        with OutboxRelay(store, rival) as relay, pytest.raises(ConfigError) as caught:
            relay.relay_once()
        assert caught.value.key == "INTERLOCK_NATS_SUBJECTS"
        assert backlog(store) == 1
    finally:
        delete_stream(rival.stream)


def test_without_nats_py_the_error_says_what_to_install(
    store: Store, fabric: NatsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "nats", None)
    for make in (OutboxRelay, NatsInbound):
        with pytest.raises(ConfigError, match=r"pip install 'interlock\[nats\]'"):
            make(store, fabric)


def test_the_fabric_imports_without_nats_py() -> None:
    code = "import sys; sys.modules['nats'] = None; import interlock.fabric; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
