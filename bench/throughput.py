"""Throughput: Interlock end to end, against this machine's raw ceiling and procrastinate.

    .venv/bin/python bench/throughput.py                        # every configuration, minutes
    .venv/bin/python bench/throughput.py --events 50000 --repeat 3
    .venv/bin/python bench/throughput.py --only raw,interlock-pg-2
    .venv/bin/python bench/throughput.py --soak 1000000         # worker memory over 1M events

The same work everywhere: a producer process validates time-entry events (one pydantic
contract, ≈450-byte payload) and queues them; worker processes deliver each one as a JSON
CloudEvent POST with an ``Idempotency-Key`` to a local sink (bench/sink.py, its own process)
and mark it done. Producer and workers run at the same time, released together; the rate is
N / time from release until the sink has seen N distinct keys and the queue has nothing open.

- ``raw-pg`` / ``raw-sqlite``: no engine. Batched insert (``--insert-batch`` per
  transaction) into a plain queue table, claim ``--claim-batch`` at a time (``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL), POST with aiohttp (``--in-flight`` at most), mark the batch done.
  2 consumers on PostgreSQL, 1 on SQLite.
- ``procrastinate``: one job per event, each its own ``defer_async`` call (procrastinate has a
  batch defer; one-job-per-event is the point, so it is not used), ``--defer-concurrency``
  calls in flight, 2 worker processes with the psycopg connector on a fresh database.
- ``interlock-*``: ``submit_events`` journals batches; workers run ``Engine.run_forever``
  with the ``forward`` flow and a ``webhook`` connector.

Every configuration has a timeout, every child process is stopped (then killed) at the end,
traffic stays on 127.0.0.1. Results: a table on stdout and bench/results/throughput-*.json.
Exit status 1 when a configuration failed (targets missed are reported, not fatal).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import multiprocessing as mp
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil  # type: ignore[import-untyped]
import psycopg
from sink import SinkProcess
from workloads import ROLES, RawQueue, Shared, Spec, check_payload, child, libpq, prepare

HERE = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get(
    "INTERLOCK_TEST_PG_ADMIN_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
CONFIGS = {
    # name: (kind, backend, worker processes)
    "raw-pg": ("raw", "pg", 2),
    "raw-sqlite": ("raw", "sqlite", 1),
    "procrastinate": ("procrastinate", "pg", 2),
    "interlock-sqlite-1": ("interlock", "sqlite", 1),
    "interlock-pg-1": ("interlock", "pg", 1),
    "interlock-pg-2": ("interlock", "pg", 2),
}
ALIASES = {
    "raw": ["raw-pg", "raw-sqlite"],
    "interlock": ["interlock-sqlite-1", "interlock-pg-1", "interlock-pg-2"],
}
MEMORY_GROWTH_TARGET = 10.0


def pg_available() -> dict[str, str] | None:
    """The server's version and the settings that move these numbers; None when unreachable."""
    names = ("server_version", "autovacuum", "synchronous_commit", "shared_buffers", "fsync")
    try:
        with psycopg.connect(libpq(PG_ADMIN_URL), autocommit=True, connect_timeout=5) as conn:
            settings = {}
            for name in names:
                row = conn.execute(f"SHOW {name}").fetchone()
                settings[name] = str(row[0]) if row else "?"
            return settings
    except psycopg.Error:
        return None


@contextlib.contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A new, empty database (SQLAlchemy URL); dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="interlock-bench-") as folder:
            yield f"sqlite:///{folder}/bench.sqlite"
        return
    name = f"interlock_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(PG_ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(libpq(PG_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the parent: release, watch, verify -----------------------------------------------------


class Verifier:
    """Reads the queue's state in the parent: is everything done, and what is left."""

    def __init__(self, kind: str, backend: str, url: str) -> None:
        self.kind = kind
        self.raw = RawQueue(backend, url) if kind == "raw" else None
        self.pg = psycopg.connect(libpq(url), autocommit=True) if kind == "procrastinate" else None
        self.store: Any = None
        if kind == "interlock":
            from interlock.store import Store

            self.store = Store(url)

    def states(self) -> dict[str, int]:
        if self.raw is not None:
            return self.raw.states()
        if self.pg is not None:
            sql = "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"
            return {str(s): int(c) for s, c in self.pg.execute(sql).fetchall()}
        from interlock.store import journal

        with self.store.transaction("counting the journal") as conn:
            counts: dict[str, int] = journal.counts(conn)
            return counts

    def runs(self) -> dict[str, int]:
        """Interlock only: flow runs by status (a failed delivery also settles its entry)."""
        if self.store is None:
            return {}
        import sqlalchemy as sa

        from interlock.store.schema import flow_runs

        query = sa.select(flow_runs.c.status, sa.func.count()).group_by(flow_runs.c.status)
        with self.store.transaction("counting runs") as conn:
            return {str(status): int(n) for status, n in conn.execute(query)}

    def backends(self) -> list[int]:
        """PostgreSQL server processes serving this database (not this connection)."""
        sql = (
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        if self.raw is not None and self.raw.pg is not None:
            return [int(r[0]) for r in self.raw.pg.execute(sql).fetchall()]
        if self.pg is not None:
            return [int(r[0]) for r in self.pg.execute(sql).fetchall()]
        if self.store is not None and self.store.engine.dialect.name == "postgresql":
            with self.store.transaction("listing backends") as conn:
                return [int(pid) for pid in conn.exec_driver_sql(sql).scalars()]
        return []

    def finished(self, events: int) -> bool:
        states = self.states()
        finished_state = {"raw": "done", "procrastinate": "succeeded", "interlock": "done"}
        return states.get(finished_state[self.kind], 0) == events == sum(states.values())

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()
        if self.pg is not None:
            self.pg.close()
        if self.store is not None:
            self.store.close()


class BenchFailed(Exception):
    """A configuration did not finish: timed out or a child process died."""


def cpu_times() -> tuple[float, float]:
    with open("/proc/stat") as stat:
        fields = [float(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system) used so far by each process still running."""
    used = {}
    for name, pid in pids.items():
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            used[name] = times.user + times.system
    return used


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Where the CPU went during the run, by process; PostgreSQL backends summed."""
    spent: dict[str, float] = {}
    for name, seconds in after.items():
        key = "postgres" if name.startswith("pg:") else name
        spent[key] = spent.get(key, 0.0) + seconds - before.get(name, 0.0)
    return {name: round(seconds, 2) for name, seconds in spent.items()}


def vm_hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Memory:
    """RSS samples of the worker processes, with the warm-up point."""

    pids: dict[str, int]  # worker name → pid
    warm_at: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    warm: dict[str, float] = field(default_factory=dict)

    def sample(self, elapsed: float, progress: int) -> None:
        rss: dict[str, float] = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(psutil.Error):
                rss[name] = round(psutil.Process(pid).memory_info().rss / 2**20, 2)
        if not self.warm and progress >= self.warm_at:
            self.warm = dict(rss)
        self.samples.append({"t": round(elapsed, 2), "events": progress, "rss_mb": rss})

    def report(self) -> list[dict[str, Any]]:
        out = []
        for name, pid in self.pids.items():
            series = [s["rss_mb"][name] for s in self.samples if name in s["rss_mb"]]
            if not series:
                continue
            warm, end = self.warm.get(name, series[0]), series[-1]
            peak = max([*series, vm_hwm_mb(pid) or 0.0])
            out.append(
                {
                    "worker": name,
                    "rss_warm_mb": round(warm, 1),
                    "rss_peak_mb": round(peak, 1),
                    "rss_end_mb": round(end, 1),
                    "growth_pct": round((end - warm) / warm * 100, 2),
                }
            )
        return out


def run_once(name: str, args: argparse.Namespace, events: int) -> dict[str, Any]:
    """Measure one configuration once, on a fresh database and a fresh sink."""
    kind, backend, workers = CONFIGS[name]
    timeout = args.timeout or 60 + events / 150
    ctx = mp.get_context("spawn")
    procs: list[tuple[str, Any]] = []
    shared = Shared(
        ctx.Barrier(workers + 2),
        ctx.RawValue("b", 0),
        ctx.RawValue("q", 0),
        ctx.RawValue("d", 0.0),
        ctx.RawValue("d", 0.0),
    )
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(fresh_database(backend))
        prepare(kind, backend, url)
        sink = stack.enter_context(SinkProcess(max_seconds=timeout + 300))
        verifier = Verifier(kind, backend, url)
        stack.callback(verifier.close)
        stack.callback(_stop_children, procs, shared)
        spec = Spec(
            config=name,
            backend=backend,
            url=url,
            sink_url=sink.url,
            events=events,
            tag=uuid.uuid4().hex[:8],
            insert_batch=args.insert_batch,
            claim_batch=args.claim_batch,
            in_flight=args.in_flight,
            worker_batch=args.worker_batch,
            max_backlog=args.max_backlog,
            idle_seconds=args.idle,
            procrastinate_concurrency=args.procrastinate_concurrency,
            defer_concurrency=args.defer_concurrency,
            profile=args.profile,
        )
        producer, worker = ROLES[kind]
        roles = [("producer", producer)] + [(f"worker{i + 1}", worker) for i in range(workers)]
        for role_name, role in roles:
            proc = ctx.Process(
                target=child, args=(role, role_name, spec, shared), name=role_name, daemon=True
            )
            proc.start()
            procs.append((role_name, proc))
        try:
            shared.barrier.wait(180)
        except threading.BrokenBarrierError:
            raise BenchFailed(f"{name}: children did not start: {_exits(procs)}") from None
        try:
            return _watch(name, events, (timeout, args.stall), sink, verifier, procs, shared)
        except BenchFailed:
            raise
        except Exception as exc:  # recorded as this run's failure; the others go on
            raise BenchFailed(
                f"{name}: {type(exc).__name__} while watching the run: {exc}; {_exits(procs)}"
            ) from exc


def _exits(procs: list[tuple[str, Any]]) -> str:
    # A negative exit code is the signal that ended the process.
    return ", ".join(f"{n} exit={p.exitcode}" for n, p in procs)


def _watch(
    name: str,
    events: int,
    limits: tuple[float, float],  # seconds for the run, seconds without progress
    sink: SinkProcess,
    verifier: Verifier,
    procs: list[tuple[str, Any]],
    shared: Shared,
) -> dict[str, Any]:
    workers = {n: p.pid for n, p in procs if n != "producer"}
    assert sink.proc is not None
    tracked = {"bench": os.getpid(), "sink": sink.proc.pid, **workers}
    tracked.update({f"pg:{pid}": pid for pid in verifier.backends()})
    spent0 = cpu_seconds(tracked)
    latest = dict(spent0)
    started, wall, cpu0 = time.perf_counter(), time.time(), cpu_times()
    memory = Memory(workers, warm_at=max(1, events // 10))
    last_sample, keys = -1.0, 0
    timeout, stall = limits
    moved_at, last_keys = 0.0, -1
    while True:
        elapsed = time.perf_counter() - started
        keys = sink.stats()["keys"]
        if keys != last_keys:
            moved_at, last_keys = elapsed, keys
        shared.progress.value = keys
        if elapsed - last_sample >= 1.0 or (not memory.warm and keys >= memory.warm_at):
            memory.sample(elapsed, keys)
            last_sample = elapsed
            # Keep the last reading of processes that may end before the run does.
            tracked.update({f"pg:{pid}": pid for pid in verifier.backends()})
            latest.update(cpu_seconds(tracked))
            if len(memory.samples) % 30 == 0:
                _progress(name, events, memory)
        dead = [(n, p.exitcode) for n, p in procs if p.exitcode not in (None, 0)]
        dead += [(n, p.exitcode) for n, p in procs[1:] if p.exitcode == 0]
        if dead:
            raise BenchFailed(f"{name}: child process ended early {dead}; {_state(sink, verifier)}")
        if keys >= events and verifier.finished(events):
            break
        if elapsed > timeout or elapsed - moved_at > stall:
            why = f"timed out after {timeout:.0f} s" if elapsed > timeout else "stalled"
            raise BenchFailed(
                f"{name}: {why}, no event delivered for {elapsed - moved_at:.1f} s;"
                f" {_state(sink, verifier)}"
            )
        time.sleep(0.02 if keys >= events * 0.95 else 0.1)  # polling costs CPU the run needs
    seconds = time.perf_counter() - started
    busy1, total1 = cpu_times()
    tracked.update({f"pg:{pid}": pid for pid in verifier.backends()})
    latest.update(cpu_seconds(tracked))
    spent = cpu_spent(spent0, latest)
    spent["producer"] = round(shared.produced_cpu.value, 2)
    memory.sample(seconds, keys)
    runs = verifier.runs()
    if runs and runs != {"succeeded": events}:
        raise BenchFailed(f"{name}: not every run succeeded: {runs}")
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "rate": round(events / seconds, 1),
        "producer_seconds": round(shared.produced_at.value - wall, 3),
        "cpu_busy_pct": round((busy1 - cpu0[0]) / max(total1 - cpu0[1], 1) * 100, 1),
        "cpu_seconds": spent,
        # Load-proof companions of the rate: CPU the run's own processes spent per event, and
        # their share of the machine (well under 100% while the machine was busy = others ran).
        "cpu_ms_per_event": round(sum(spent.values()) / events * 1000, 3),
        "own_cpu_share_pct": round(
            sum(spent.values()) / (seconds * (os.cpu_count() or 1)) * 100, 1
        ),
        "sink": sink.stats(),
        "queue": verifier.states(),
        "runs": runs,
        "workers": memory.report(),
        "memory_samples": memory.samples,
    }


def _progress(name: str, events: int, memory: Memory) -> None:
    """A line every 30 s or so, so a long run (a soak) shows it is alive and how it goes."""
    then, now = memory.samples[-30], memory.samples[-1]
    rate = (now["events"] - then["events"]) / max(now["t"] - then["t"], 1e-9)
    rss = ", ".join(f"{mb:.0f}" for mb in now["rss_mb"].values())
    print(
        f"    {name}: {now['events']:,}/{events:,} delivered at {now['t']:.0f} s,"
        f" {rate:,.0f} events/s lately, workers' RSS {rss} MB",
        flush=True,
    )


def _state(sink: SinkProcess, verifier: Verifier) -> str:
    try:
        return f"sink {sink.stats()}, queue {verifier.states()}"
    except Exception as exc:  # noqa: BLE001 - describing the failure must not hide it
        return f"(state unavailable: {type(exc).__name__})"


def _stop_children(procs: list[tuple[str, Any]], shared: Shared) -> None:
    shared.stop.value = 1
    deadline = time.monotonic() + 15
    for _, proc in procs:
        proc.join(max(0.1, deadline - time.monotonic()))
    for _, proc in procs:
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


# --- report ----------------------------------------------------------------------------------


def machine(pg_version: dict[str, str] | None) -> dict[str, Any]:
    packages = {}
    for package in ("interlock", "procrastinate", "psycopg", "aiohttp", "pydantic", "sqlalchemy"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            packages[package] = importlib.metadata.version(package)
    commit = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    with open("/proc/cpuinfo") as cpuinfo:
        models = [line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line]
    return {
        "nproc": os.cpu_count(),
        "cpu": models[0] if models else platform.processor(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "packages": packages,
        "git_commit": commit or None,
    }


def verdicts(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's figures: Interlock PG-2's rate and its ratios, each with its target."""

    def rate(name: str) -> float | None:
        value = results.get(name, {}).get("rate")
        return float(value) if value else None

    def ratio(top: str, bottom: str) -> float | None:
        a, b = rate(top), rate(bottom)
        return round(a / b, 2) if a and b else None

    figures = [
        ("interlock-pg-2 events/s", rate("interlock-pg-2"), 5000.0),
        ("interlock-pg-2 / raw-pg", ratio("interlock-pg-2", "raw-pg"), 0.5),
        ("interlock-pg-2 / procrastinate", ratio("interlock-pg-2", "procrastinate"), 10.0),
        ("interlock-sqlite-1 / raw-sqlite", ratio("interlock-sqlite-1", "raw-sqlite"), None),
    ]
    return [
        {
            "figure": label,
            "value": value,
            "target": target,
            "met": None if value is None or target is None else value >= target,
        }
        for label, value, target in figures
    ]


def print_table(results: dict[str, dict[str, Any]], figures: list[dict[str, Any]]) -> None:
    head = f"{'configuration':20} {'events/s':>9} {'runs (events/s)':>24} {'busy%':>5} {'own%':>5}"
    print(f"\n{head} {'ms/ev':>6}  workers' RSS MB after warm-up → end (growth)")
    for name, result in results.items():
        if result.get("error"):
            print(f"{name:20} FAILED: {result['error']}")
            continue
        last = result["runs"][-1]
        runs = " / ".join(f"{r['rate']:,.0f}" for r in result["runs"])
        memory = ", ".join(
            f"{w['rss_warm_mb']:.0f}→{w['rss_end_mb']:.0f} ({w['growth_pct']:+.1f}%)"
            for w in last["workers"]
        )
        cpu = f"{last['cpu_busy_pct']:>5.0f} {last['own_cpu_share_pct']:>5.0f}"
        print(
            f"{name:20} {result['rate']:>9,.0f} {runs:>24} {cpu}"
            f" {last['cpu_ms_per_event']:>6.2f}  {memory}"
        )
    print(
        "busy%: the machine's CPU busy; own%: the share the run's own processes used;"
        " ms/ev: their CPU per event (last run)"
    )
    print()
    for figure in figures:
        if figure["value"] is None:
            continue
        goal = ""
        if figure["target"] is not None:
            verdict = "met" if figure["met"] else "MISSED"
            goal = f"  (target ≥ {figure['target']:g}: {verdict})"
        print(f"{figure['figure']:34} {figure['value']:>10,.2f}{goal}")


def measure(name: str, args: argparse.Namespace, events: int) -> dict[str, Any]:
    runs, errors = [], []
    for attempt in range(args.repeat):
        try:
            result = run_once(name, args, events)
        except BenchFailed as exc:
            errors.append(str(exc))
            print(f"  {name} run {attempt + 1}: FAILED {exc}", file=sys.stderr, flush=True)
            continue
        print(
            f"  {name} run {attempt + 1}: {result['rate']:,.0f} events/s "
            f"({events:,} in {result['seconds']:.2f} s, cpu {result['cpu_busy_pct']:.0f}%)",
            flush=True,
        )
        runs.append(result)
    outcome: dict[str, Any] = {"runs": runs, "errors": errors}
    if errors:
        outcome["error"] = errors[0]
    if runs and not errors:
        outcome["rate"] = round(statistics.median(r["rate"] for r in runs), 1)
    return outcome


def selected(only: str | None) -> list[str]:
    if not only:
        return list(CONFIGS)
    names: list[str] = []
    for part in (p.strip() for p in only.split(",") if p.strip()):
        for name in ALIASES.get(part, [part]):
            if name not in CONFIGS:
                raise SystemExit(
                    f"--only: unknown configuration {part!r}"
                    f" (known: {', '.join([*ALIASES, *CONFIGS])})"
                )
            if name not in names:
                names.append(name)
    return [n for n in CONFIGS if n in names]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=20_000, help="events per run (20,000)")
    parser.add_argument(
        "--only",
        help="comma-separated: raw, raw-pg, raw-sqlite, procrastinate, "
        "interlock, interlock-sqlite-1, interlock-pg-1, interlock-pg-2",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration; median")
    parser.add_argument(
        "--soak",
        type=int,
        help="only interlock-pg-2 over this many events; reports worker memory growth",
    )
    parser.add_argument("--timeout", type=float, help="seconds per run (60 + events/150)")
    parser.add_argument(
        "--stall", type=float, default=60.0, help="fail when no event is delivered for this long"
    )
    parser.add_argument("--insert-batch", type=int, default=500, help="events per producer txn")
    parser.add_argument("--claim-batch", type=int, default=100, help="raw: events per claim")
    parser.add_argument("--worker-batch", type=int, default=100, help="interlock: Engine batch")
    parser.add_argument("--in-flight", type=int, default=64, help="POSTs in flight per worker")
    parser.add_argument("--idle", type=float, default=0.05, help="worker sleep when idle (s)")
    parser.add_argument("--max-backlog", type=int, default=50_000, help="producer waits above")
    parser.add_argument(
        "--procrastinate-concurrency", type=int, default=16, help="jobs at once per worker"
    )
    parser.add_argument(
        "--defer-concurrency", type=int, default=8, help="procrastinate defers in flight"
    )
    parser.add_argument("--profile", help="folder: write a cProfile of every child process")
    parser.add_argument("--results-dir", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    if args.events < 1 or args.repeat < 1 or (args.soak is not None and args.soak < 1):
        parser.error("--events, --repeat and --soak must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    payload_bytes = check_payload()
    load_before = os.getloadavg()
    names = ["interlock-pg-2"] if args.soak else selected(args.only)
    events = args.soak or args.events
    pg_version = pg_available()
    info = machine(pg_version)
    info["load_average_before"] = [round(x, 2) for x in load_before]
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    print(
        f"throughput: {events:,} events per run, {args.repeat} run(s), payload {payload_bytes} B;"
        f" {info['nproc']} CPUs, load {info['load_average_before']}",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        if CONFIGS[name][1] == "pg" and pg_version is None:
            results[name] = {
                "runs": [],
                "errors": [],
                "error": f"PostgreSQL not reachable ({PG_ADMIN_URL})",
            }
            continue
        results[name] = measure(name, args, events)
    figures = verdicts(results)
    print_table(results, figures)
    report: dict[str, Any] = {
        "bench": "throughput",
        "command": " ".join(
            [
                ".venv/bin/python",
                "bench/throughput.py",
                *(argv if argv is not None else sys.argv[1:]),
            ]
        ),
        "started_at": dt.datetime.now(dt.UTC).isoformat(),
        "machine": info,
        "settings": {k: v for k, v in vars(args).items() if k != "results_dir"},
        "payload_bytes": payload_bytes,
        "configurations": results,
        "figures": figures,
    }
    if args.soak:
        report["soak"] = soak_verdict(results.get("interlock-pg-2", {}))
    folder = Path(args.results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"throughput-{stamp}.json"
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    print(f"\nresults: {path}")
    return 1 if any(r.get("error") for r in results.values()) else 0


def soak_verdict(result: dict[str, Any]) -> dict[str, Any]:
    if not result.get("runs"):
        return {"error": result.get("error", "no run")}
    workers = result["runs"][-1]["workers"]
    worst = max(w["growth_pct"] for w in workers)
    verdict = {
        "workers": workers,
        "max_growth_pct": worst,
        "target_pct": MEMORY_GROWTH_TARGET,
        "met": worst < MEMORY_GROWTH_TARGET,
    }
    print(
        f"worker RSS growth after warm-up: max {worst:+.2f}% (target < {MEMORY_GROWTH_TARGET:g}%)"
        f" {'met' if verdict['met'] else 'MISSED'}"
    )
    return verdict


if __name__ == "__main__":
    sys.exit(main())
