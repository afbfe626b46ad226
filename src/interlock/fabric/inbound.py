"""JetStream → journal: a durable pull consumer that journals canonical events exactly once.

A round fetches a batch, journals it in one transaction and acknowledges the batch only after
that transaction committed. A crash before the commit leaves the messages unacknowledged, so
JetStream delivers them again after ``ack_wait``; a crash after the commit and before the
acknowledgements also redelivers, and the journal's dedup key drops the repeats. What counts
as a repeat, what is skipped as our own and how unreadable bodies are kept is described in
``interlock.fabric.intake``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from interlock.exceptions import ConfigError, ConnectorUnavailable, InterlockError
from interlock.fabric.client import SYSTEM, FabricClient, Session, nats_module
from interlock.fabric.config import NatsSettings
from interlock.fabric.intake import Delivery, Tally, journal_deliveries
from interlock.fabric.stream import ensure_stream
from interlock.store import Store

if TYPE_CHECKING:
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

log = logging.getLogger("interlock.fabric")

STREAM_NOT_FOUND = 10059


class NatsInbound:
    """Consumes canonical events from JetStream into the journal, from synchronous code.

    Args:
        store: The database whose journal receives the events.
        settings: NATS settings: ``inbound_stream``/``stream``, ``inbound_subject``,
            ``durable``, ``ack_wait_seconds``, ``own_source``.

    Workers share the durable consumer: each message goes to one of them, and a message a
    worker fetched but did not acknowledge goes to another after ``ack_wait_seconds``.
    """

    def __init__(self, store: Store, settings: NatsSettings) -> None:
        self.store = store
        self.settings = settings
        self.stats = Tally()
        self.received = 0
        self._subscription: Any = None
        self._client = FabricClient(settings, on_connect=self._prepare)

    def once(self) -> int:
        """One worker round: journal one batch (the engine's ``Fabric`` protocol)."""
        return self.pull_once()

    def pull_once(self, batch: int | None = None) -> int:
        """Fetch up to ``batch`` messages, journal them, then ack them. Returns messages handled.

        Waits up to ``fetch_wait_seconds`` when none are waiting (and returns 0).

        Raises:
            ConnectorUnavailable: NATS could not be reached (nothing was journaled).
            StoreError: The database failed; nothing is acknowledged, so the batch is
                delivered again after ``ack_wait_seconds``.
        """
        size = batch or self.settings.inbound_batch
        messages: list[Msg] = self._client.call(
            lambda session: self._fetch(size),
            "fetching from NATS",
            timeout=self.settings.fetch_wait_seconds + self.settings.request_timeout_seconds,
        )
        if not messages:
            return 0
        deliveries = [_delivery(message) for message in messages]
        with self.store.transaction("journaling events from NATS") as conn:
            tally = journal_deliveries(conn, deliveries, self.settings.own_source)
        self.stats.add(tally)
        self.received += len(messages)
        try:
            self._client.call(lambda session: _ack_all(session, messages), "acknowledging")
        except InterlockError as exc:  # journaled already: a redelivery is dropped as a repeat
            log.warning("%s; %d messages will be delivered again", exc, len(messages))
        return len(messages)

    def pull_all(self, batch: int | None = None) -> int:
        """Pull rounds until one finds nothing waiting. Returns messages handled."""
        total = 0
        while count := self.pull_once(batch):
            total += count
        return total

    def close(self) -> None:
        """Close the NATS connection (unacknowledged messages are delivered again later)."""
        self._client.close()

    def __enter__(self) -> NatsInbound:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _prepare(self, session: Session) -> None:
        if self.settings.consume_stream == self.settings.stream:
            await ensure_stream(session.js, self.settings)
        self._subscription = await self._subscribe(session.js)

    async def _subscribe(self, js: JetStreamContext) -> Any:
        api = nats_module("nats.js.api")
        errors = nats_module("nats.js.errors")
        settings, stream = self.settings, self.settings.consume_stream
        try:
            info = await js.consumer_info(stream, settings.durable)
        except errors.NotFoundError as exc:
            if exc.err_code == STREAM_NOT_FOUND:
                raise ConnectorUnavailable(SYSTEM, f"stream {stream} does not exist") from None
            info = None
        if info is not None and info.config.filter_subject != settings.inbound_subject:
            raise ConfigError(
                "nats",
                "INTERLOCK_NATS_DURABLE",
                f"consumer {settings.durable} on {stream} filters "
                f"{info.config.filter_subject!r}, not {settings.inbound_subject!r}; "
                "use another durable name or delete the consumer",
            )
        config = api.ConsumerConfig(
            durable_name=settings.durable,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=settings.ack_wait_seconds,
            max_ack_pending=settings.max_ack_pending,
            filter_subject=settings.inbound_subject,
        )
        return await js.pull_subscribe(
            settings.inbound_subject, durable=settings.durable, stream=stream, config=config
        )

    async def _fetch(self, size: int) -> list[Msg]:
        try:
            messages: list[Msg] = await self._subscription.fetch(
                size, timeout=self.settings.fetch_wait_seconds
            )
        except TimeoutError:
            return []
        return messages


def _delivery(message: Msg) -> Delivery:
    meta = message.metadata
    return Delivery(
        stream=meta.stream,
        subject=message.subject,
        sequence=meta.sequence.stream,
        body=bytes(message.data),
        headers=dict(message.headers or {}),
    )


async def _ack_all(session: Session, messages: Sequence[Msg]) -> None:
    for message in messages:
        await message.ack()
    await session.nc.flush()
