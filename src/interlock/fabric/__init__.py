"""The event fabric: canonical events to and from NATS JetStream.

``OutboxRelay`` publishes the transactional outbox (one subject per event type,
``Nats-Msg-Id`` = event id); ``NatsInbound`` journals canonical events from a durable pull
consumer, each exactly once. Both are synchronous facades over nats-py, which is the optional
extra ``interlock[nats]`` and imported only when one of them is made. See ``docs/fabric.md``.
"""

from __future__ import annotations

from interlock.fabric.config import NatsSettings
from interlock.fabric.inbound import NatsInbound
from interlock.fabric.intake import INVALID_TYPE, Tally
from interlock.fabric.relay import OutboxRelay, RelayStats
from interlock.fabric.stream import ensure_stream

__all__ = [
    "INVALID_TYPE",
    "NatsInbound",
    "NatsSettings",
    "OutboxRelay",
    "RelayStats",
    "Tally",
    "ensure_stream",
]
