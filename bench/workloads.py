"""The workloads the throughput bench compares, run in spawned child processes.

One time-entry payload (`time_entry`), validated by the same pydantic contract everywhere, and
for each kind of configuration a producer and a worker role:

- ``raw``: `RawQueue`, a plain table with batched insert, batched claim and batched done;
  consumers POST with aiohttp.
- ``procrastinate``: one job per event (`deliver_event`), one ``defer_async`` call each.
- ``interlock``: ``submit_events`` and ``Engine.run_forever`` with the ``forward`` flow.

Children are released together by a barrier and stop when the bench sets ``Shared.stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psycopg

from interlock.events import CloudEvent, event_type
from interlock.model import TimeEntry

TYPE = event_type("time_entry", "approved")
SOURCE = "/bench/producer"
EPOCH = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


# --- the payload: one time entry, the same in every configuration --------------------------


def time_entry(n: int, tag: str) -> dict[str, Any]:
    """A time entry in its canonical JSON form (15 fields, ≈450 bytes)."""
    return {
        "id": f"time_entry_{tag}_{n:010d}",
        "project_id": f"project_{tag}_{n % 997:06d}",
        "task_id": f"task_{tag}_{n % 4999:08d}",
        "consultant_id": f"consultant_{n % 211:05d}",
        "date": (EPOCH.date() + dt.timedelta(days=n % 365)).isoformat(),
        "hours": str((n % 16 + 1) / 2),
        "billable": n % 5 != 0,
        "state": "approved",
        "description": f"Discovery workshop preparation and client follow-up, week {n % 52 + 1}",
        "dimensions": {
            "legal_entity_id": "legal_entity_us01",
            "practice_id": "practice_advisory",
            "department": "Consulting Services",
            "cost_center": f"CC-{4100 + n % 40}",
            "region": "North America East",
        },
    }


def event_id(n: int, tag: str) -> str:
    return f"{tag}{n:024x}"


def event_time(n: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=n)


def envelope(n: int, tag: str, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON CloudEvent raw and procrastinate deliver: what ``CloudEvent.to_json`` gives."""
    return {
        "specversion": "1.0",
        "id": event_id(n, tag),
        "source": SOURCE,
        "type": TYPE,
        "subject": data["id"],
        "time": event_time(n).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }


def cloud_event(n: int, tag: str) -> CloudEvent:
    data = time_entry(n, tag)
    return CloudEvent(
        id=event_id(n, tag),
        source=SOURCE,
        type=TYPE,
        subject=data["id"],
        time=event_time(n),
        data=data,
    )


def check_payload() -> int:
    """Prove the three paths carry the same bytes; return the data size in bytes."""
    data = time_entry(7, "check")
    assert TimeEntry.model_validate(data).model_dump(mode="json") == data, "payload drifted"
    assert cloud_event(7, "check").to_json() == envelope(7, "check", data), "envelope drifted"
    return len(orjson.dumps(data))


# --- queues --------------------------------------------------------------------------------


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


class RawQueue:
    """The raw ceiling's queue: a plain table, batched insert, batched claim, batched done."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend = backend
        self.pg: psycopg.Connection[Any] | None = None
        self.lite: sqlite3.Connection | None = None
        if backend == "pg":
            self.pg = psycopg.connect(libpq(url), autocommit=True)
        else:
            self.lite = sqlite3.connect(sqlite_path(url), isolation_level=None, timeout=30)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
                self.lite.execute(f"PRAGMA {pragma}")

    def create(self) -> None:
        if self.pg is not None:
            self.pg.execute(
                "CREATE TABLE raw_queue (id bigserial PRIMARY KEY, event_id text NOT NULL"
                " UNIQUE, body jsonb NOT NULL, state smallint NOT NULL DEFAULT 0)"
            )
            self.pg.execute("CREATE INDEX raw_queue_open ON raw_queue (id) WHERE state = 0")
        else:
            assert self.lite is not None
            self.lite.execute(
                "CREATE TABLE raw_queue (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL"
                " UNIQUE, body TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0)"
            )
            self.lite.execute("CREATE INDEX raw_queue_open ON raw_queue (id) WHERE state = 0")

    def insert(self, ids: list[str], bodies: list[str]) -> None:
        if self.pg is not None:
            self.pg.execute(
                "INSERT INTO raw_queue (event_id, body) SELECT i, b::jsonb"
                " FROM unnest(%b::text[], %b::text[]) AS t(i, b) ON CONFLICT DO NOTHING",
                (ids, bodies),
            )
            return
        assert self.lite is not None
        self.lite.execute("BEGIN IMMEDIATE")
        self.lite.executemany(
            "INSERT OR IGNORE INTO raw_queue (event_id, body) VALUES (?, ?)",
            zip(ids, bodies, strict=True),
        )
        self.lite.execute("COMMIT")

    def claim(self, limit: int) -> list[tuple[int, str, str]]:
        if self.pg is not None:
            rows = self.pg.execute(
                "UPDATE raw_queue SET state = 1 WHERE id IN (SELECT id FROM raw_queue"
                " WHERE state = 0 ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING id, event_id, body::text",
                (limit,),
            ).fetchall()
            return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
        assert self.lite is not None
        self.lite.execute("BEGIN IMMEDIATE")
        rows = self.lite.execute(
            "UPDATE raw_queue SET state = 1 WHERE id IN (SELECT id FROM raw_queue"
            " WHERE state = 0 ORDER BY id LIMIT ?) RETURNING id, event_id, body",
            (limit,),
        ).fetchall()
        self.lite.execute("COMMIT")
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def done(self, ids: list[int]) -> None:
        if self.pg is not None:
            self.pg.execute("UPDATE raw_queue SET state = 2 WHERE id = ANY(%s)", (ids,))
            return
        assert self.lite is not None
        marks = ",".join("?" * len(ids))
        self.lite.execute("BEGIN IMMEDIATE")
        self.lite.execute(f"UPDATE raw_queue SET state = 2 WHERE id IN ({marks})", ids)
        self.lite.execute("COMMIT")

    def states(self) -> dict[str, int]:
        sql = "SELECT state, count(*) FROM raw_queue GROUP BY state"
        if self.pg is not None:
            rows = self.pg.execute(sql).fetchall()
        else:
            assert self.lite is not None
            rows = self.lite.execute(sql).fetchall()
        names = {0: "pending", 1: "claimed", 2: "done"}
        return {names[int(s)]: int(c) for s, c in rows}

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()
        if self.lite is not None:
            self.lite.close()


# --- child processes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What a child process needs (picklable: children are spawned)."""

    config: str
    backend: str
    url: str
    sink_url: str
    events: int
    tag: str
    insert_batch: int
    claim_batch: int
    in_flight: int
    worker_batch: int
    max_backlog: int
    idle_seconds: float
    procrastinate_concurrency: int
    defer_concurrency: int
    profile: str | None = None


@dataclass(frozen=True)
class Shared:
    """Synchronisation between the bench and its children.

    Apart from the barrier, only lock-free shared values: a child killed while holding a lock
    would otherwise hang the bench.
    """

    barrier: Any  # every child and the parent: released together
    stop: Any  # 1 when the run is over
    progress: Any  # distinct keys the sink has seen (the parent keeps it fresh)
    produced_at: Any  # time.time() when the producer had queued every event
    produced_cpu: Any  # CPU seconds the producer spent doing it


def _released(shared: Shared) -> float:
    """Wait for the start; return this process's CPU time at that moment."""
    shared.barrier.wait(120)
    return time.process_time()


def _produced(shared: Shared, cpu_at_start: float) -> None:
    shared.produced_at.value = time.time()
    shared.produced_cpu.value = time.process_time() - cpu_at_start


def _watch_parent() -> None:
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(3)  # the bench is gone: do not linger

    threading.Thread(target=watch, daemon=True).start()


def child(role: Callable[[Spec, Shared], None], name: str, spec: Spec, shared: Shared) -> None:
    """Entry point of every child process."""
    _watch_parent()
    if spec.profile is None:
        role(spec, shared)
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        role(spec, shared)
    finally:
        profiler.disable()
        profiler.dump_stats(str(Path(spec.profile) / f"{spec.config}-{name}-{os.getpid()}.prof"))


def _batches(spec: Spec, shared: Shared) -> Iterator[range]:
    """The producer's batches, no faster than the sink drains them; none once stopping."""
    for start in range(0, spec.events, spec.insert_batch):
        # Feed, don't flood: a soak must not pile a million events up in the queue.
        while start - shared.progress.value > spec.max_backlog and not shared.stop.value:
            time.sleep(0.05)
        if shared.stop.value:
            return
        yield range(start, min(start + spec.insert_batch, spec.events))


def produce_raw(spec: Spec, shared: Shared) -> None:
    queue = RawQueue(spec.backend, spec.url)
    cpu = _released(shared)
    try:
        for chunk in _batches(spec, shared):
            ids, bodies = [], []
            for n in chunk:
                data = time_entry(n, spec.tag)
                TimeEntry.model_validate(data)
                ids.append(event_id(n, spec.tag))
                bodies.append(orjson.dumps(envelope(n, spec.tag, data)).decode())
            queue.insert(ids, bodies)
        _produced(shared, cpu)
    finally:
        queue.close()


async def _post(session: aiohttp.ClientSession, url: str, key: str, body: bytes) -> None:
    headers = {"Idempotency-Key": key, "Content-Type": "application/cloudevents+json"}
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"sink answered {response.status}")


async def _consume(queue: RawQueue, spec: Spec, shared: Shared) -> None:
    connector = aiohttp.TCPConnector(limit=spec.in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        while not shared.stop.value:
            rows = queue.claim(spec.claim_batch)
            if not rows:
                await asyncio.sleep(spec.idle_seconds)
                continue
            await asyncio.gather(
                *(_post(session, spec.sink_url, key, body.encode()) for _, key, body in rows)
            )
            queue.done([row[0] for row in rows])


def consume_raw(spec: Spec, shared: Shared) -> None:
    queue = RawQueue(spec.backend, spec.url)
    shared.barrier.wait(120)
    try:
        asyncio.run(_consume(queue, spec, shared))
    finally:
        queue.close()


_PROCRASTINATE: dict[str, Any] = {}


async def deliver_event(event: dict[str, Any]) -> None:
    """The procrastinate task: validate the event's data, POST it to the sink."""
    TimeEntry.model_validate(event["data"])
    session: aiohttp.ClientSession = _PROCRASTINATE["session"]
    await _post(session, _PROCRASTINATE["url"], str(event["id"]), orjson.dumps(event))


def procrastinate_app(url: str) -> Any:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq(url)))
    app.task(name="deliver_event")(deliver_event)
    return app


def produce_procrastinate(spec: Spec, shared: Shared) -> None:
    async def produce() -> None:
        app = procrastinate_app(spec.url)
        async with app.open_async():
            task = app.tasks["deliver_event"]

            async def defer(numbers: Iterator[int]) -> None:
                for n in numbers:  # one job per event: one defer call each, never a batch
                    event = envelope(n, spec.tag, time_entry(n, spec.tag))
                    await task.defer_async(event=event)

            cpu = await asyncio.to_thread(_released, shared)
            for chunk in _batches(spec, shared):
                numbers = iter(chunk)
                await asyncio.gather(*(defer(numbers) for _ in range(spec.defer_concurrency)))
            _produced(shared, cpu)

    asyncio.run(produce())


def work_procrastinate(spec: Spec, shared: Shared) -> None:
    async def work() -> None:
        app = procrastinate_app(spec.url)
        connector = aiohttp.TCPConnector(limit=spec.in_flight)
        async with aiohttp.ClientSession(connector=connector) as session, app.open_async():
            _PROCRASTINATE.update(session=session, url=spec.sink_url)
            await asyncio.to_thread(shared.barrier.wait, 120)
            worker = asyncio.create_task(
                app.run_worker_async(
                    concurrency=spec.procrastinate_concurrency, install_signal_handlers=False
                )
            )
            while not shared.stop.value and not worker.done():
                await asyncio.sleep(0.1)
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    asyncio.run(work())


def produce_interlock(spec: Spec, shared: Shared) -> None:
    from interlock.engine.ingest import submit_events
    from interlock.store import Store

    store = Store(spec.url)
    cpu = _released(shared)
    try:
        for chunk in _batches(spec, shared):
            journaled = submit_events(store, [cloud_event(n, spec.tag) for n in chunk])
            if journaled != len(chunk):
                raise RuntimeError(f"submit_events journaled {journaled} of {len(chunk)} events")
        _produced(shared, cpu)
    finally:
        store.close()


def work_interlock(spec: Spec, shared: Shared) -> None:
    from interlock.connectors.webhook import WebhookConfig, WebhookConnector
    from interlock.engine import Engine
    from interlock.flows.forward import Forward
    from interlock.store import Store

    store = Store(spec.url)
    connector = WebhookConnector(
        "sink", WebhookConfig(base_url=spec.sink_url, concurrency=spec.in_flight)
    )
    engine = Engine(
        store,
        systems={"sink": connector},
        roles={"webhook": "sink"},
        flows=[Forward()],
        sources=[],
        batch=spec.worker_batch,
    )
    stop = threading.Event()

    def relay_stop() -> None:
        while not shared.stop.value:
            time.sleep(0.1)
        stop.set()

    threading.Thread(target=relay_stop, daemon=True).start()
    shared.barrier.wait(120)
    try:
        engine.run_forever(stop, poll_seconds=spec.idle_seconds)
    finally:
        connector.close()
        store.close()


ROLES: dict[str, tuple[Callable[[Spec, Shared], None], Callable[[Spec, Shared], None]]] = {
    "raw": (produce_raw, consume_raw),
    "procrastinate": (produce_procrastinate, work_procrastinate),
    "interlock": (produce_interlock, work_interlock),
}


def prepare(kind: str, backend: str, url: str) -> None:
    """Create the schema of a fresh database, then checkpoint so runs start alike."""
    if kind == "raw":
        queue = RawQueue(backend, url)
        queue.create()
        queue.close()
    elif kind == "procrastinate":
        app = procrastinate_app(url)
        with app.open():
            app.schema_manager.apply_schema()
    else:
        from interlock.store import Store

        store = Store(url)
        store.upgrade()
        store.close()
    if backend == "pg":
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute("CHECKPOINT")
