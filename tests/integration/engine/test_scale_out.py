"""Scale-out on PostgreSQL: four worker processes share one journal; one is SIGKILLed halfway.

10,000 events over 500 business keys go to a recording HTTP sink that applies each effect once
per idempotency key. Whichever worker ran what, and despite the kill, every event must land
exactly once and each key's events in their order.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from interlock.events import CloudEvent
from interlock.serving import ThreadedServer
from interlock.store import Store, journal, runs
from interlock.store.schema import audit_log, flow_runs
from interlock.store.schema import journal as journal_table

from .scale_worker import EVENT_TYPE, WORKER_HEADER

KEYS = 500
PER_KEY = 20
TOTAL = KEYS * PER_KEY
WORKERS = 4
VICTIM = "w0"
LEASE_SECONDS = 2.0
# Bound on the whole test, children included. It takes ~35 s on 2 idle cores; the margin is
# for a loaded machine, so that a slow run is not mistaken for a hang.
HARD_TIMEOUT = 120.0
BASE = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


class Sink:
    """An HTTP target that applies each POST once per idempotency key and records the order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts = 0
        self.refused = 0  # repeated idempotency keys, answered without applying again
        self.applied: dict[str, str] = {}  # idempotency key → event id in the body
        self.order: dict[str, list[int]] = collections.defaultdict(list)
        self.by_worker: collections.Counter[str] = collections.Counter()

    def app(self) -> Starlette:
        """The ASGI app to serve."""
        return Starlette(routes=[Route("/effects", self.effect, methods=["POST"])])

    async def effect(self, request: Request) -> JSONResponse:
        """Apply one effect, unless its idempotency key was applied already."""
        body = await request.json()
        idempotency_key = request.headers.get("idempotency-key")
        worker = request.headers.get(WORKER_HEADER)
        if not idempotency_key or not worker:
            return JSONResponse({"error": "Idempotency-Key and worker header required"}, 400)
        with self.lock:
            self.posts += 1
            if idempotency_key in self.applied:
                self.refused += 1
                return JSONResponse({"created": False})
            self.applied[idempotency_key] = str(body["id"])
            self.order[str(body["key"])].append(int(body["seq"]))
            self.by_worker[worker] += 1
        return JSONResponse({"created": True}, 201)

    def applied_count(self) -> int:
        """Effects applied so far."""
        with self.lock:
            return len(self.applied)


class Cluster:
    """Worker processes on one database, all killed when the test ends, whatever happens."""

    def __init__(self, store: Store, sink: Sink, sink_url: str, log: Path) -> None:
        self.store = store
        self.sink = sink
        self.sink_url = sink_url
        self.log = log
        self.deadline = time.monotonic() + HARD_TIMEOUT
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        """Start a worker process named ``name``."""
        module = "tests.integration.engine.scale_worker"
        options = ["--batch=100", f"--lease={LEASE_SECONDS}"]
        command = [sys.executable, "-m", module, self.store.url, self.sink_url, name, *options]
        with self.log.open("ab") as out:
            self.workers[name] = subprocess.Popen(
                command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )

    def wait(self, what: str, predicate: Callable[[], bool], pause: float = 0.1) -> None:
        """Wait for ``predicate``; fail at the deadline or when a worker dies unbidden."""
        while not predicate():
            crashed = {
                name: proc.returncode
                for name, proc in self.workers.items()
                if proc.poll() is not None and proc.returncode != -signal.SIGKILL
            }
            if crashed or time.monotonic() > self.deadline:
                raise AssertionError(
                    f"waiting for {what}: {'exited ' + str(crashed) if crashed else 'timed out'}"
                    f"; {self.state()}\n{self.log.read_text()[-3000:]}"
                )
            time.sleep(pause)

    def held_by(self, worker: str, *, unexpired: bool) -> set[int]:
        """Journal entries ``worker`` holds a claim on (only live claims, if ``unexpired``).

        A claimed entry is work in the worker's hands: its runs' first step runs before they
        are stored, so a dead worker's claims are what another worker must take over.
        """
        query = sa.select(journal_table.c.id).where(
            journal_table.c.claimed_by == worker,
            journal_table.c.status == journal.Status.CLAIMED,
        )
        if unexpired:
            query = query.where(journal_table.c.lease_until > journal.now())
        with self.store.transaction() as conn:
            return {int(i) for i in conn.execute(query).scalars()}

    def kill_holding_runs(self, name: str) -> set[int]:
        """SIGKILL ``name`` at a moment it holds live claims; return the entries it held."""
        self.wait(f"{name} to hold work", lambda: bool(self.held_by(name, unexpired=True)), 0.005)
        proc = self.workers[name]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        return self.held_by(name, unexpired=False)

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Journal entries and runs, by status."""
        with self.store.transaction() as conn:
            return journal.counts(conn), runs.counts(conn)

    def all_done(self) -> bool:
        """Every entry done and every run succeeded."""
        entries, finished = self.counts()
        return entries.get(journal.Status.DONE) == TOTAL == finished.get(runs.RunStatus.SUCCEEDED)

    def state(self) -> str:
        """Progress, for failure messages."""
        entries, finished = self.counts()
        return f"journal {entries}, runs {finished}, sink applied {self.sink.applied_count()}"

    def stop(self) -> None:
        """Stop every worker still alive: SIGTERM, then SIGKILL if it lingers."""
        for proc in self.workers.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _journal_events(store: Store) -> set[str]:
    # Sequence-major, so each key's events get increasing journal ids and event times.
    ids: set[str] = set()
    for seq in range(1, PER_KEY + 1):
        batch = []
        for k in range(KEYS):
            key = f"item-{k:03d}"
            event = CloudEvent(
                id=f"evt-{key}-{seq:02d}",
                source="/scale-test",
                type=EVENT_TYPE,
                subject=key,
                time=BASE + dt.timedelta(seconds=seq),
                data={"key": key, "seq": seq},
            )
            batch.append((event, event.id))
            ids.add(event.id)
        with store.transaction() as conn:
            assert len(journal.append_many(conn, batch)) == KEYS
    return ids


def _finishers(store: Store, run_ids: set[str]) -> dict[str, list[str]]:
    """Which workers recorded each run's success (audit actors)."""
    with store.transaction() as conn:
        rows = conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.details).where(
                audit_log.c.action == "run.succeeded"
            )
        ).all()
    found: dict[str, list[str]] = {run_id: [] for run_id in run_ids}
    for actor, details in rows:
        if details["run"] in found:
            found[details["run"]].append(str(actor))
    return found


def test_four_workers_apply_each_event_once_in_key_order_though_one_is_killed(
    pg_url: str, tmp_path: Path
) -> None:
    store = Store(pg_url)
    store.upgrade()
    expected = _journal_events(store)
    sink = Sink()
    try:
        with ThreadedServer(sink.app()) as server:
            cluster = Cluster(store, sink, server.base_url, tmp_path / "workers.log")
            started = time.monotonic()
            try:
                for n in range(WORKERS):
                    cluster.start(f"w{n}")
                cluster.wait("half the events", lambda: sink.applied_count() >= TOTAL // 2)
                held = cluster.kill_holding_runs(VICTIM)
                applied_at_kill = sink.applied_count()
                cluster.wait("every event", cluster.all_done)
            finally:
                cluster.stop()
            elapsed = time.monotonic() - started
        entry_counts, run_counts = cluster.counts()
        with store.transaction() as conn:
            taken_over = conn.execute(
                sa.select(
                    journal_table.c.id,
                    journal_table.c.status,
                    journal_table.c.claimed_by,
                    journal_table.c.attempts,
                ).where(journal_table.c.id.in_(held))
            ).all()
            held_runs = set(
                conn.execute(
                    sa.select(flow_runs.c.id).where(flow_runs.c.journal_id.in_(held))
                ).scalars()
            )
        finishers = _finishers(store, held_runs)
    finally:
        store.close()

    print(  # shown with -rP: the numbers behind the report
        f"{TOTAL} events in {elapsed:.1f}s with {WORKERS} workers; posts={sink.posts} "
        f"refused duplicates={sink.refused}; applied at kill={applied_at_kill}; "
        f"entries held by the killed worker={len(held)}; per worker={dict(sink.by_worker)}"
    )
    # Exactly once: one applied effect per event, no event under two idempotency keys.
    events_applied = collections.Counter(sink.applied.values())
    assert set(events_applied) == expected
    assert events_applied.most_common(1)[0][1] == 1
    assert sink.posts == TOTAL + sink.refused
    # Per-key order: each key's effects landed 1..20, in that order.
    assert len(sink.order) == KEYS
    disordered = {k: seqs for k, seqs in sink.order.items() if seqs != list(range(1, PER_KEY + 1))}
    assert not disordered, f"{len(disordered)} keys out of order, e.g. {disordered.popitem()}"
    assert entry_counts == {journal.Status.DONE: TOTAL}
    assert run_counts == {runs.RunStatus.SUCCEEDED: TOTAL}
    # The kill hit a worker holding claims mid-batch, and other workers took them over: each
    # entry was claimed again after its lease ran out, and its run finished elsewhere.
    assert held, "the killed worker held no claims: the takeover path was not exercised"
    assert applied_at_kill < TOTAL
    assert len(taken_over) == len(held)
    for entry_id, status, claimed_by, attempts in taken_over:
        assert status == journal.Status.DONE, entry_id
        assert claimed_by != VICTIM, entry_id
        assert attempts >= 2, entry_id
    assert len(held_runs) == len(held)
    for run_id in held_runs:
        assert finishers[run_id], f"run {run_id} has no success record"
        assert f"worker:{VICTIM}" not in finishers[run_id], run_id
    # Work was shared: the victim did some before it died, and so did the others.
    assert sink.by_worker[VICTIM] > 0
    assert sum(1 for name in cluster.workers if sink.by_worker[name] > 0) > 1
