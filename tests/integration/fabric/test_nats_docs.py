"""The Python examples in docs/fabric.md run against the real server."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from interlock.events import CloudEvent
from interlock.fabric import NatsSettings
from interlock.store import Store, journal, outbox

from .jetstream import create_stream, publish

DOC = Path(__file__).resolve().parents[3] / "docs" / "fabric.md"


def test_the_examples_relay_journal_and_consume(
    fabric: NatsSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer, usage = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    for name, value in fabric.model_dump(exclude_none=True).items():
        text = orjson.dumps(value).decode() if isinstance(value, list) else str(value)
        monkeypatch.setenv(f"INTERLOCK_NATS_{name.upper()}", text)
    monkeypatch.chdir(tmp_path)
    store = Store("sqlite:///var/interlock.sqlite")
    store.upgrade()
    ours = CloudEvent(source="/interlock", type="interlock.project.created.v1", data={"n": 1})
    with store.transaction() as conn:
        outbox.enqueue(conn, ours)
    theirs = CloudEvent(source="/systems/billing", type="interlock.invoice.paid.v1", data={})
    create_stream(fabric)
    publish([(fabric.publish_subject(theirs.type), orjson.dumps(theirs.to_json()), {})])

    namespace: dict[str, Any] = {}
    exec(compile(usage, "docs/fabric.md", "exec"), namespace)
    assert (namespace["published"], namespace["handled"]) == (1, 2)
    assert (namespace["inbound"].stats.journaled, namespace["inbound"].stats.own) == (1, 1)
    with store.transaction() as conn:
        assert journal.counts(conn) == {"pending": 1}

    exec(compile(consumer, "docs/fabric.md", "exec"), namespace)
    read = asyncio.run(
        namespace["consume"](
            fabric.url, fabric.stream, f"{fabric.subject_prefix}interlock.project.>", "billing"
        )
    )
    assert read == [ours]
    namespace["store"].close()
    store.close()
