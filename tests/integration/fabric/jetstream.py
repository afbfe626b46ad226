"""Plain nats-py helpers for the fabric tests: what a third-party producer or consumer does."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nats
from nats.js import api

from interlock.fabric import NatsSettings, ensure_stream

NATS_URL = os.environ.get("INTERLOCK_TEST_NATS_URL", "nats://127.0.0.1:4222")


@dataclass(frozen=True)
class Stored:
    """A message as it sits in the stream."""

    sequence: int
    subject: str
    headers: dict[str, str]
    body: bytes


async def _connect() -> Any:
    return await nats.connect(
        NATS_URL, connect_timeout=1, max_reconnect_attempts=1, reconnect_time_wait=0.1
    )


def jetstream_reachable() -> bool:
    async def probe() -> bool:
        try:
            nc = await _connect()
        except Exception:  # noqa: BLE001 - any failure means "no NATS here"
            return False
        try:
            await nc.jetstream().account_info()
            return True
        except Exception:  # noqa: BLE001
            return False
        finally:
            await nc.close()

    return asyncio.run(probe())


def delete_stream(name: str) -> None:
    async def delete() -> None:
        nc = await _connect()
        try:
            await nc.jetstream().delete_stream(name)
        except nats.js.errors.NotFoundError:
            pass
        finally:
            await nc.close()

    asyncio.run(delete())


def read_stream(stream: str) -> list[Stored]:
    """Every message in ``stream``, in stream order, read by an ephemeral consumer."""

    async def read() -> list[Stored]:
        nc = await _connect()
        try:
            js = nc.jetstream()
            total = (await js.stream_info(stream)).state.messages
            sub = await js.pull_subscribe(
                "", stream=stream, config=api.ConsumerConfig(ack_policy=api.AckPolicy.NONE)
            )
            found: list[Stored] = []
            while len(found) < total:
                for msg in await sub.fetch(min(total - len(found), 1000), timeout=2):
                    found.append(
                        Stored(
                            msg.metadata.sequence.stream,
                            msg.subject,
                            dict(msg.headers or {}),
                            msg.data,
                        )
                    )
            await sub.unsubscribe()
            return found
        finally:
            await nc.close()

    return asyncio.run(read())


def publish(messages: Sequence[tuple[str, bytes, dict[str, str]]]) -> list[bool]:
    """Publish (subject, body, headers) to JetStream; returns whether each was a duplicate."""

    async def send() -> list[bool]:
        nc = await _connect()
        try:
            js = nc.jetstream()
            acks = [await js.publish(s, b, headers=h or None) for s, b, h in messages]
            return [bool(ack.duplicate) for ack in acks]
        finally:
            await nc.close()

    return asyncio.run(send())


def consumer_state(stream: str, durable: str) -> tuple[int, int]:
    """(messages waiting, messages delivered but not acknowledged) of a consumer."""

    async def info() -> tuple[int, int]:
        nc = await _connect()
        try:
            state = await nc.jetstream().consumer_info(stream, durable)
            return int(state.num_pending or 0), int(state.num_ack_pending or 0)
        finally:
            await nc.close()

    return asyncio.run(info())


def stream_config(stream: str) -> dict[str, Any]:
    """Some fields of a stream's configuration, durations in seconds."""

    async def info() -> dict[str, Any]:
        nc = await _connect()
        try:
            config = (await nc.jetstream().stream_info(stream)).config
            return {
                "subjects": config.subjects,
                "duplicate_window": config.duplicate_window,
                "storage": str(config.storage),
            }
        finally:
            await nc.close()

    return asyncio.run(info())


def create_stream(settings: NatsSettings) -> None:
    """The hub's stream, made the way the relay makes it."""

    async def create() -> None:
        nc = await _connect()
        try:
            await ensure_stream(nc.jetstream(), settings)
        finally:
            await nc.close()

    asyncio.run(create())
