"""Outbox → JetStream: publish what the engine committed, mark it published once stored.

A round claims pending outbox rows in one transaction, publishes them pipelined (every
publish in flight at once, then every acknowledgement awaited), and marks the acknowledged
ones published in that same transaction. A crash after publishing and before the commit only
publishes again: each message carries ``Nats-Msg-Id: <event id>``, and JetStream drops a
repeat inside its duplicate window. A repeat after the window is stored twice, and consumers
drop it by event id (the Interlock inbound channel does).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from interlock.exceptions import ConnectorUnavailable
from interlock.fabric.client import SYSTEM, FabricClient, Session, nats_module
from interlock.fabric.config import NatsSettings
from interlock.fabric.stream import ensure_stream
from interlock.store import Store, outbox

if TYPE_CHECKING:
    from nats.js import JetStreamContext

log = logging.getLogger("interlock.fabric")

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


@dataclass
class RelayStats:
    """What a relay did since it was made."""

    published: int = 0
    duplicates: int = 0
    failed: int = 0


@dataclass
class _Outcome:
    acked: list[int] = field(default_factory=list)
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


class OutboxRelay:
    """Publishes the outbox to NATS JetStream, from synchronous code.

    Args:
        store: The database whose outbox is relayed.
        settings: NATS settings; the stream is created or updated on first use.

    Several relays (one per worker) may run against one PostgreSQL database: claims use
    ``FOR UPDATE SKIP LOCKED``, so each row is published by one of them at a time.
    """

    def __init__(self, store: Store, settings: NatsSettings) -> None:
        self.store = store
        self.settings = settings
        self.stats = RelayStats()
        self._client = FabricClient(settings, on_connect=self._prepare)

    def once(self) -> int:
        """One worker round: relay one batch (the engine's ``Fabric`` protocol)."""
        return self.relay_once()

    def relay_once(self, limit: int | None = None) -> int:
        """Publish up to ``limit`` pending outbox messages. Returns how many were stored.

        Raises:
            ConnectorUnavailable: NATS did not store any of them (nothing is marked).
            StoreError: The database failed (nothing is marked; the next round retries).
        """
        with self.store.transaction("relaying the outbox to NATS") as conn:
            messages = outbox.pending(conn, limit or self.settings.relay_batch)
            if not messages:
                return 0
            outcome = self._client.call(
                lambda session: self._publish(session.js, messages),
                f"publishing {len(messages)} outbox messages",
                timeout=self.settings.publish_timeout_seconds,
            )
            outbox.mark_published(conn, outcome.acked)
        self.stats.published += len(outcome.acked)
        self.stats.duplicates += outcome.duplicates
        self.stats.failed += len(outcome.errors)
        if outcome.errors:
            summary = (
                f"{len(outcome.errors)} of {len(messages)} not stored; first: {outcome.errors[0]}"
            )
            if not outcome.acked:
                raise ConnectorUnavailable(SYSTEM, f"publishing the outbox: {summary}")
            log.warning("publishing the outbox: %s (they are retried)", summary)
        return len(outcome.acked)

    def relay_all(self, limit: int | None = None) -> int:
        """Relay rounds until the outbox is empty. Returns messages stored."""
        total = 0
        while count := self.relay_once(limit):
            total += count
        return total

    def close(self) -> None:
        """Close the NATS connection and its loop thread."""
        self._client.close()

    def __enter__(self) -> OutboxRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _prepare(self, session: Session) -> None:
        await ensure_stream(session.js, self.settings)

    async def _publish(self, js: JetStreamContext, messages: list[outbox.Message]) -> _Outcome:
        js_errors = nats_module("nats.js.errors")
        sent: list[tuple[outbox.Message, asyncio.Future[Any]]] = []
        try:
            for message in messages:
                # No wait_stall: it costs a task per publish (5x slower), and a batch never
                # exceeds nats-py's 4,000 publishes in flight (relay_batch <= 4000).
                future = await js.publish_async(
                    self.settings.publish_subject(message.subject),
                    orjson.dumps(message.payload),
                    stream=self.settings.stream,
                    headers={"Nats-Msg-Id": message.msg_id, "Content-Type": CONTENT_TYPE},
                )
                sent.append((message, future))
        except BaseException:
            for _, future in sent:
                future.cancel()
            raise
        _, late = await asyncio.wait(
            [future for _, future in sent], timeout=self.settings.publish_timeout_seconds
        )
        outcome = _Outcome()
        for message, future in sent:  # in outbox order
            if future in late:
                future.cancel()
                outcome.errors.append("no acknowledgement in time")
                continue
            exc = future.exception()
            if exc is None:
                outcome.acked.append(message.id)
                outcome.duplicates += bool(future.result().duplicate)
            elif isinstance(exc, js_errors.NoStreamResponseError):
                outcome.errors.append(
                    f"no stream captures {self.settings.publish_subject(message.subject)} "
                    "(check INTERLOCK_NATS_SUBJECTS)"
                )
            else:
                outcome.errors.append(str(exc) or type(exc).__name__)
        return outcome
