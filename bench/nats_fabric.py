"""Throughput of the event fabric against the real NATS server (not a test; run it by hand).

    .venv/bin/python tests/integration/fabric/bench_nats.py --events 20000 --runs 3

Relay: N outbox rows already committed → ``OutboxRelay.relay_all()`` until the outbox is
empty (claim, publish pipelined, await acks, mark published; ``relay_batch`` per round).
Inbound: N CloudEvents already in the stream → ``NatsInbound.pull_all()`` until all are
journaled and acknowledged (``inbound_batch`` per round). Connection set-up is excluded; each
run uses a fresh database (SQLite WAL file, or a new PostgreSQL database) and a fresh stream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator

import nats
import orjson
import sqlalchemy as sa

from interlock.events import CloudEvent
from interlock.fabric import NatsInbound, NatsSettings, OutboxRelay
from interlock.store import Store, outbox

NATS_URL = os.environ.get("INTERLOCK_TEST_NATS_URL", "nats://127.0.0.1:4222")
PG_ADMIN_URL = os.environ.get(
    "INTERLOCK_TEST_PG_ADMIN_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
TYPE = "interlock.project.created.v1"


def event(n: int, source: str) -> CloudEvent:
    return CloudEvent(
        source=source,
        type=TYPE,
        subject=f"deal-{n % 500}",
        data={"n": n, "name": f"Project {n}", "practice": "advisory", "budget": 1000 + n},
    )


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite"
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"interlock_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def delete_stream(name: str) -> None:
    async def delete() -> None:
        nc = await nats.connect(NATS_URL)
        try:
            await nc.jetstream().delete_stream(name)
        finally:
            await nc.close()

    asyncio.run(delete())


def settings() -> NatsSettings:
    tag = uuid.uuid4().hex[:10]
    return NatsSettings(
        url=NATS_URL,
        stream=f"B{tag}",
        subjects=[f"b{tag}.interlock.>"],
        subject_prefix=f"b{tag}.",
        inbound_subject=f"b{tag}.interlock.>",
        durable=f"bench-{tag}",
    )


def relay_run(backend: str, count: int) -> float:
    fabric = settings()
    with database(backend) as url:
        store = Store(url)
        store.upgrade()
        try:
            with store.transaction() as conn:
                outbox.enqueue(conn, event(-1, "/interlock"))
            with OutboxRelay(store, fabric) as relay:
                relay.relay_all()  # connect and create the stream
                for start in range(0, count, 1000):
                    with store.transaction() as conn:
                        for n in range(start, min(start + 1000, count)):
                            outbox.enqueue(conn, event(n, "/interlock"))
                started = time.perf_counter()
                assert relay.relay_all() == count
                return count / (time.perf_counter() - started)
        finally:
            store.close()
            delete_stream(fabric.stream)


async def _publish(fabric: NatsSettings, count: int) -> None:
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    subject = fabric.publish_subject(TYPE)
    for n in range(count):
        e = event(n, "/systems/crm")
        await js.publish_async(subject, orjson.dumps(e.to_json()), headers={"Nats-Msg-Id": e.id})
    await asyncio.wait_for(js.publish_async_completed(), 60)
    await nc.close()


def inbound_run(backend: str, count: int) -> float:
    fabric = settings()
    with database(backend) as url:
        store = Store(url)
        store.upgrade()
        try:
            with NatsInbound(store, fabric) as inbound:
                inbound.pull_once()  # connect, create the stream and the consumer
                asyncio.run(_publish(fabric, count))
                started = time.perf_counter()
                handled = 0
                while handled < count:
                    handled += inbound.pull_once()
                elapsed = time.perf_counter() - started
                assert inbound.stats.journaled == count
                return count / elapsed
        finally:
            store.close()
            delete_stream(fabric.stream)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        for name, run in (("relay", relay_run), ("inbound", inbound_run)):
            rates = [run(backend, args.events) for _ in range(args.runs)]
            shown = ", ".join(f"{r:,.0f}" for r in rates)
            print(
                f"{name:8} {backend:10} N={args.events}: median {statistics.median(rates):,.0f} "
                f"events/s  (runs: {shown})",
                flush=True,
            )


if __name__ == "__main__":
    main()
