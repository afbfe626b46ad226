"""A real NATS JetStream per test session; each test gets a stream of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from interlock.fabric import NatsSettings
from interlock.store import Store

from .jetstream import NATS_URL, delete_stream, jetstream_reachable

REQUIRE_SERVICES = os.environ.get("INTERLOCK_REQUIRE_SERVICES") == "1"


def need_service(reason: str) -> None:
    """Skip on a bare machine; fail where services are required (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def nats_url() -> str:
    if not jetstream_reachable():
        need_service(f"NATS JetStream not reachable at {NATS_URL}")
    return NATS_URL


@pytest.fixture
def fabric(nats_url: str) -> Iterator[NatsSettings]:
    """Settings with a stream and subject prefix of this test's own; the stream is deleted after."""
    tag = uuid.uuid4().hex[:10]
    settings = NatsSettings(
        url=nats_url,
        stream=f"T{tag}",
        subjects=[f"t{tag}.interlock.>"],
        subject_prefix=f"t{tag}.",
        inbound_subject=f"t{tag}.interlock.>",
        durable=f"hub-{tag}",
        fetch_wait_seconds=0.2,
    )
    yield settings
    delete_stream(settings.stream)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.upgrade()
    yield s
    s.close()
