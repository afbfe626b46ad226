"""One worker process of the scale-out test: an Engine with a flow that posts each event to a sink.

Run as ``python -m tests.integration.engine.scale_worker DATABASE_URL SINK_URL WORKER``; it
works until SIGTERM. The sink is the recording HTTP server of ``test_scale_out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any, ClassVar

import httpx
import sqlalchemy as sa
from pydantic import BaseModel

from interlock.connectors.base import Connector, UpsertResult
from interlock.engine import Decision, Engine, Flow, RetryPolicy, StepContext
from interlock.events import CloudEvent
from interlock.exceptions import ConnectorUnavailable, RecordRejected
from interlock.store import Store

EVENT_TYPE = "interlock.item.changed.v1"
WORKER_HEADER = "X-Interlock-Worker"


class Effect(BaseModel):
    """What the sink applies: one event of one business key."""

    id: str
    key: str
    seq: int


class SinkConnector(Connector):
    """Writes effects to the sink over HTTP, with the canonical id as idempotency key."""

    type: ClassVar[str] = "scale_sink"
    kinds: ClassVar[frozenset[str]] = frozenset({"effect"})

    def __init__(self, system: str, base_url: str, worker: str) -> None:
        super().__init__(system)
        self.client = httpx.Client(base_url=base_url, timeout=10.0, headers={WORKER_HEADER: worker})

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        assert isinstance(record, Effect)
        try:
            response = self.client.post(
                "/effects", json=record.model_dump(), headers={"Idempotency-Key": record.id}
            )
        except httpx.HTTPError as exc:
            raise ConnectorUnavailable(self.system, f"sink unreachable: {exc}") from exc
        if response.status_code >= 500:
            raise ConnectorUnavailable(self.system, "sink failed", status=response.status_code)
        if response.status_code >= 400:
            raise RecordRejected(self.system, "sink refused", status=response.status_code)
        return UpsertResult(record.id, bool(response.json()["created"]))

    def close(self) -> None:
        self.client.close()


class PostToSink(Flow):
    """One run per event: post it to the sink. Per-key order comes from the journal alone."""

    name: ClassVar[str] = "post_to_sink"
    triggers: ClassVar[frozenset[str]] = frozenset({EVENT_TYPE})
    required_roles: ClassVar[tuple[str, ...]] = ("sink",)

    def decide(
        self,
        event: CloudEvent,
        conn: sa.Connection,
        systems: Mapping[str, Connector],
        roles: Mapping[str, str],
    ) -> Decision:
        # Runs are unique per (flow, business key): one run per event needs the sequence in
        # the key, or the 2nd..20th event of a subject would be dropped as duplicates.
        return Decision.run(f"{event.subject}#{event.data['seq']}")

    def steps(self) -> list[tuple[str, Any]]:
        return [("post", self.post)]

    def post(self, ctx: StepContext) -> dict[str, Any]:
        data = ctx.event.data
        effect = Effect(id=ctx.event.id, key=data["key"], seq=data["seq"])
        result = ctx.system("sink").upsert("effect", effect)
        return {"native": result.native_id, "created": result.created}


def main() -> None:
    """Run one worker until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("sink_url")
    parser.add_argument("worker")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--lease", type=float, default=2.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format=f"{args.worker} %(levelname)s %(message)s")
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    store = Store(args.database_url)
    sink = SinkConnector("sink", args.sink_url, args.worker)
    try:
        engine = Engine(
            store,
            {"sink": sink},
            {"sink": "sink"},
            [PostToSink()],
            [],
            batch=args.batch,
            lease=dt.timedelta(seconds=args.lease),
            worker=args.worker,
            policy=RetryPolicy(max_attempts=30, base_seconds=0.05, max_seconds=0.5),
        )
        engine.run_forever(stop, poll_seconds=0.05)
    finally:
        sink.close()
        store.close()


if __name__ == "__main__":
    main()
