"""Posting approved time into Tryton, as a ratio to Tryton's own batched create rate.

    .venv/bin/python bench/tryton_time.py                          # 2,000 entries, SQLite, 3 rounds
    .venv/bin/python bench/tryton_time.py --backend postgresql --entries 5000 --repeat 5
    .venv/bin/python bench/tryton_time.py --profile var/tryton-time.prof   # cProfile of Interlock

One run, one trytond on 127.0.0.1 serving a fresh copy of the set-up template the Tryton
tests use (built once, cached): a won deal is mobilised through the engine as the Tryton demo
does (customer, project, one task per SOW line, staffed employees). Then, alternating
``--repeat`` times:

- **baseline**: a bare JSON-RPC client written here (httpx, not the connector), logged in as
  the connector's user, creates N ``timesheet.line`` records with ``model.timesheet.line.create``
  in batches of ``--batch``: rate = N / time of the create calls;
- **Interlock**: N approved time entries for the same tasks, employees, days and hours are
  submitted as canonical ``time_entry.approved`` events (``submit_events``); the engine
  (``post_time`` flow, Tryton as ERP, ``worker_batch`` = ``--batch``) works until every run
  succeeded: rate = N / time from the submit to the last run succeeded. The bare client then
  checks that each entry is exactly one line in Tryton.

Each round books the next stretch of working days (one entry per staffed task and day), so no
round searches lines another round posted. A warm-up round (not counted) runs first.
Results: a table on stdout and bench/results/tryton-time-<UTC>.json. Exit status 1 when a
round failed or an entry is not in Tryton exactly once; a missed target is reported, not fatal.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import datetime as dt
import importlib.metadata
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from interlock.connectors.tryton import TrytonConnector
from interlock.connectors.tryton.bootstrap import Setup
from interlock.connectors.tryton.mapping import marked_id
from interlock.connectors.tryton.server import Backend, TrytonServer
from interlock.connectors.tryton.template import ensure_template
from interlock.engine import RetryPolicy
from interlock.engine.ingest import submit_events
from interlock.model import ApprovalState, Assignment, Project, TimeEntry, canonical_id
from interlock.runtime import Hub, build_hub
from interlock.sandbox.firm import generate_firm
from interlock.sandbox.salesforce import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from interlock.settings import Settings
from interlock.store import records, runs
from interlock.topology import parse_topology
from interlock.tryton_demo import (
    TrytonDemoServer,
    flow_counts,
    load_roster,
    roster,
    salesforce_sandbox,
    time_events,
    topology,
    work_until,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_CACHE = ROOT / ".pytest_cache" / "d" / "tryton"
"""Where the Tryton tests keep their SQLite template (pytest's cache folder)."""
# The tests' throwaway local credentials: the template key includes the passwords, so the
# bench must use the same ones to share the tests' cached template (a different key in the
# same cache folder would make ensure_template replace it). A test checks they match.
ADMIN_PASSWORD = SecretStr("tryton-admin-for-tests")
USER_PASSWORD = SecretStr("interlock-user-for-tests")
PG_ADMIN_URL = os.environ.get(
    "INTERLOCK_TEST_PG_ADMIN_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
TARGET = 0.8
WARMUP = 50


class BenchFailed(Exception):
    """A round did not finish, or Tryton does not hold exactly the entries posted."""


# -- the bare JSON-RPC client (the baseline; deliberately not the connector) -----------------


def _tagged(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tagged(v) for v in value]
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    return value


class BareRpc:
    """Tryton's JSON-RPC over plain httpx: login, context, ``model.*`` calls."""

    def __init__(self, base_url: str, database: str, timeout: float = 120.0) -> None:
        # httpx sends Accept-Encoding: gzip, which Tryton 8.2 needs for fast long replies.
        self.http = httpx.Client(base_url=f"{base_url}/{database}/rpc/", timeout=timeout)
        self.headers = {"Content-Type": "application/json"}
        self.context: dict[str, Any] = {}
        self.ids = 0

    def _post(self, method: str, params: list[Any]) -> Any:
        self.ids += 1
        body = orjson.dumps({"id": self.ids, "method": method, "params": _tagged(params)})
        reply = self.http.post("", content=body, headers=self.headers)
        reply.raise_for_status()
        data = reply.json()
        if data.get("error"):
            raise BenchFailed(f"{method}: Tryton error {str(data['error'])[:300]}")
        return data["result"]

    def login(self, username: str, password: SecretStr) -> None:
        """Log in and load the user's context."""
        params = [username, {"password": password.get_secret_value()}, "en"]
        user_id, token = self._post("common.db.login", params)[:2]
        raw = f"{username}:{user_id}:{token}".encode()
        self.headers["Authorization"] = "Session " + base64.b64encode(raw).decode()
        self.context = self._post("model.res.user.get_preferences", [True, {}])

    def call(self, model: str, method: str, *params: Any) -> Any:
        """``model.<model>.<method>`` with ``params`` and the context."""
        return self._post(f"model.{model}.{method}", [*params, self.context])

    def close(self) -> None:
        """Close the connection."""
        self.http.close()


# -- set-up: Tryton, the hub, a mobilised deal -------------------------------------------------


@dataclass(frozen=True)
class Staffed:
    """One staffed task: the canonical ids and the Tryton ids of its task, work and employee."""

    assignment: Assignment
    employee: int
    timesheet_work: int


@contextlib.contextmanager
def tryton(backend: Backend, cache: Path, workdir: Path) -> Iterator[TrytonDemoServer]:
    """A trytond on a fresh copy of the tests' template (built on first use)."""
    template = ensure_template(
        backend,
        cache,
        admin_password=ADMIN_PASSWORD,
        setup=Setup(user_password=USER_PASSWORD),
        pg_admin_url=PG_ADMIN_URL,
    )
    database = template.database.copy(f"bench_time_{uuid.uuid4().hex[:10]}", workdir)
    try:
        with TrytonServer(database, workdir) as server:
            yield TrytonDemoServer(server.base_url, database.name, ADMIN_PASSWORD, USER_PASSWORD)
    finally:
        database.drop()


@contextlib.contextmanager
def hub_database(backend: Backend, workdir: Path) -> Iterator[str]:
    """The hub's store on the backend Tryton runs on: a SQLite file or a fresh PG database."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'hub.sqlite'}"
        return
    import psycopg

    admin = PG_ADMIN_URL.replace("+psycopg", "")
    name = f"interlock_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def environ() -> dict[str, str]:
    """The secrets the topologies name."""
    return {
        "SF_CLIENT_ID": DEMO_CLIENT_ID,
        "SF_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "TRYTON_PASSWORD": USER_PASSWORD.get_secret_value(),
    }


def mobilise(server: TrytonDemoServer, hub_url: str, timeout: float) -> list[Assignment]:
    """Win one deal in the Salesforce sandbox and let ``mobilize`` set it up in Tryton."""
    today = dt.datetime.now(dt.UTC).date()
    firm = generate_firm(11, deals=1, consultants=24, bad_share=0, today=today - dt.timedelta(60))
    with salesforce_sandbox(firm) as (salesforce, opportunities, salesforce_url):
        hub = build_hub(
            Settings(database_url=hub_url),
            parse_topology(topology(server, salesforce_url), "bench set-up topology"),
            environ=environ(),
            policy=RetryPolicy(max_attempts=5, base_seconds=0.05, max_seconds=0.5),
        )
        try:
            load_roster(hub.store, roster(firm))
            hub.engine.run_until_idle(timeout=timeout)
            for deal in firm.deals:
                salesforce.win(opportunities[deal.key])
            work_until(hub, "mobilize", len(firm.deals), timeout=timeout)
            if flow_counts(hub.store, "mobilize") != {runs.RunStatus.SUCCEEDED: len(firm.deals)}:
                raise BenchFailed(f"mobilize: {flow_counts(hub.store, 'mobilize')}")
            with hub.store.transaction("reading the staffing") as conn:
                staffed = [
                    Assignment.model_validate(a) for a in records.of_kind(conn, "assignment")
                ]
                projects = [Project.model_validate(p) for p in records.of_kind(conn, "project")]
        finally:
            hub.close()
    if len(projects) != 1 or not staffed:
        raise BenchFailed(f"expected one staffed project, got {len(projects)} / {len(staffed)}")
    return sorted(staffed, key=lambda a: a.id)


def measuring_hub(server: TrytonDemoServer, hub_url: str, batch: int) -> Hub:
    """The hub measured: Tryton as ERP, the ``post_time`` flow, ``batch`` runs per round."""
    spec = {
        "systems": {
            "tryton": {
                "role": "erp",
                "type": "tryton",
                "base_url": server.base_url,
                "credentials": {"password": {"env": "TRYTON_PASSWORD"}},
                "options": {"database": server.database, "username": "interlock"},
            }
        },
        "flows": {"post_time": {"enabled": True}},
    }
    return build_hub(
        Settings(database_url=hub_url, worker_batch=batch),
        parse_topology(spec, "bench topology"),
        environ=environ(),
        policy=RetryPolicy(max_attempts=5, base_seconds=0.05, max_seconds=0.5),
    )


def resolve(bare: BareRpc, hub: Hub, assignments: Sequence[Assignment]) -> list[Staffed]:
    """Tryton ids of each assignment's employee and task timesheet work (for the baseline)."""
    from interlock.store import xref

    staffed = []
    with hub.store.transaction("resolving Tryton ids") as conn:
        for a in assignments:
            employee = xref.native_id(conn, "consultant", a.consultant_id, "tryton")
            task = xref.native_id(conn, "task", str(a.task_id), "tryton")
            if employee is None or task is None:
                raise BenchFailed(f"assignment {a.id} is not in Tryton")
            (row,) = bare.call("project.work", "read", [int(task)], ["timesheet_works"])
            staffed.append(Staffed(a, int(employee), int(row["timesheet_works"][0])))
    return staffed


# -- the work: one entry per staffed task and working day --------------------------------------


def working_days(start: dt.date, count: int) -> list[dt.date]:
    """``count`` working days from ``start`` on."""
    days: list[dt.date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def entries_for(
    staffed: Sequence[Staffed], days: Sequence[dt.date], n: int, tag: str
) -> list[TimeEntry]:
    """``n`` approved entries, day by day, each staffed task once a day (0.25–8 h)."""
    out = []
    for i in range(n):
        a = staffed[i % len(staffed)].assignment
        out.append(
            TimeEntry(
                id=canonical_id("time_entry", "bench_time_capture", f"{tag}/{i}"),
                project_id=a.project_id,
                task_id=a.task_id,
                consultant_id=a.consultant_id,
                date=days[i // len(staffed)],
                hours=Decimal(1 + i % 29) / 4,
                state=ApprovalState.APPROVED,
                description=f"Delivery work {i}",
            )
        )
    return out


def baseline(
    bare: BareRpc, staffed: Sequence[Staffed], entries: Sequence[TimeEntry], batch: int
) -> float:
    """Create the entries' lines with the bare client, ``batch`` per call; seconds taken."""
    by_task = {s.assignment.task_id: s for s in staffed}
    company = bare.context["company"]
    values = [
        {
            "company": company,
            "employee": by_task[e.task_id].employee,
            "work": by_task[e.task_id].timesheet_work,
            "date": e.date,
            "duration": dt.timedelta(seconds=int(e.hours * 3600)),
            "description": f"baseline {e.description}",
        }
        for e in entries
    ]
    started = time.perf_counter()
    created = 0
    for at in range(0, len(values), batch):
        created += len(bare.call("timesheet.line", "create", values[at : at + batch]))
    elapsed = time.perf_counter() - started
    if created != len(values):
        raise BenchFailed(f"baseline created {created} of {len(values)} lines")
    return elapsed


class Spy:
    """Counts the connector's RPC calls by method and the sizes of its time batches."""

    def __init__(self, connector: TrytonConnector) -> None:
        self.calls: Counter[str] = Counter()
        self.batches: list[int] = []
        call, upsert_many = connector.rpc.call, connector.upsert_many

        def counted_call(method: str, *params: Any, decode: bool = True) -> Any:
            self.calls[method] += 1
            return call(method, *params, decode=decode)

        def counted_batch(kind: str, items: Any) -> Any:
            self.batches.append(len(items))
            return upsert_many(kind, items)

        connector.rpc.call = counted_call  # type: ignore[method-assign]
        connector.upsert_many = counted_batch  # type: ignore[method-assign]

    def take(self) -> dict[str, Any]:
        """What was counted since the last take."""
        seen = {"rpc_calls": dict(self.calls), "batches": list(self.batches)}
        self.calls.clear()
        self.batches.clear()
        return seen


def interlock(hub: Hub, entries: Sequence[TimeEntry], total: int, timeout: float) -> float:
    """Submit the entries as events; work until ``total`` post_time runs succeeded; seconds."""
    events = time_events(entries)
    started = time.perf_counter()
    if submit_events(hub.store, events) != len(events):
        raise BenchFailed("submit_events journaled fewer events than submitted")
    deadline = time.monotonic() + timeout
    while True:
        busy = hub.engine.work_once()
        counts = flow_counts(hub.store, "post_time")
        if counts.get(runs.RunStatus.SUCCEEDED, 0) >= total:
            break
        if counts.get(runs.RunStatus.FAILED) or counts.get(runs.RunStatus.REJECTED):
            raise BenchFailed(f"post_time runs: {counts}")
        if time.monotonic() > deadline:
            raise BenchFailed(f"post_time not done in {timeout:.0f}s: {counts}")
        if not busy:
            time.sleep(0.005)
    return time.perf_counter() - started


def verify(bare: BareRpc, entries: Sequence[TimeEntry]) -> int:
    """Raise unless each entry is exactly one timesheet line in Tryton; the lines found."""
    wanted = {e.id for e in entries}
    dates = [e.date for e in entries]
    domain = [
        ("date", ">=", min(dates)),
        ("date", "<=", max(dates)),
        ("description", "like", r"%[interlock:time\_entry:%"),
    ]
    rows = bare.call("timesheet.line", "search_read", domain, 0, None, None, ["description"])
    seen = Counter(marked_id(r["description"], "time_entry") for r in rows)
    ours = {cid: n for cid, n in seen.items() if cid in wanted}
    twice = sorted(cid for cid, n in ours.items() if n != 1)
    missing = sorted(wanted - set(ours))
    if twice or missing:
        raise BenchFailed(f"{len(missing)} entries missing, {len(twice)} posted more than once")
    return sum(ours.values())


# -- the run -----------------------------------------------------------------------------------


def machine(backend: str) -> dict[str, Any]:
    """What the numbers were measured on."""
    packages = {}
    for name in ("interlock", "trytond", "trytond-timesheet", "httpx", "sqlalchemy", "psycopg"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            packages[name] = importlib.metadata.version(name)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=10,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count() or 1,
        "load_average_before": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "backend": backend,
        "packages": packages,
        "git_commit": commit or None,
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Set up, warm up, then alternate baseline and Interlock ``--repeat`` times."""
    n, batch = args.entries, args.batch
    timeout = 60.0 + n / 10
    report: dict[str, Any] = {"machine": machine(args.backend), "settings": vars(args).copy()}
    report["settings"]["cache"] = str(args.cache)
    setup_started = time.perf_counter()
    with (
        tryton(args.backend, args.cache, workdir) as server,
        hub_database(args.backend, workdir) as url,
    ):
        assignments = mobilise(server, url, timeout)
        hub = measuring_hub(server, url, batch)
        bare = BareRpc(server.base_url, server.database)
        try:
            bare.login("interlock", USER_PASSWORD)
            connector = hub.systems["tryton"]
            assert isinstance(connector, TrytonConnector)
            connector.authenticate()  # both sides logged in before any timing
            staffed = resolve(bare, hub, assignments)
            spy = Spy(connector)
            report["setup_seconds"] = time.perf_counter() - setup_started
            report["staffed_tasks"] = len(staffed)
            per_round = math.ceil(max(n, WARMUP) / len(staffed))
            days = working_days(
                min(a.start_date for a in assignments), per_round * (args.repeat + 1)
            )
            rounds, posted = [], 0
            for r in range(args.repeat + 1):
                size = WARMUP if r == 0 else n
                window = days[r * per_round : (r + 1) * per_round]
                base_seconds = baseline(
                    bare, staffed, entries_for(staffed, window, size, f"b{r}"), batch
                )
                entries = entries_for(staffed, window, size, f"i{r}")
                posted += size
                profiler = cProfile.Profile() if args.profile and r > 0 else None
                if profiler:
                    profiler.enable()
                ours = interlock(hub, entries, posted, timeout)
                if profiler:
                    profiler.disable()
                    profiler.dump_stats(f"{args.profile}.{r}")
                lines = verify(bare, entries)
                seen = spy.take()
                if r == 0:
                    continue
                rounds.append(
                    {
                        "round": r,
                        "entries": size,
                        "baseline_seconds": base_seconds,
                        "baseline_rate": size / base_seconds,
                        "interlock_seconds": ours,
                        "interlock_rate": size / ours,
                        "ratio": base_seconds / ours,
                        "lines_verified": lines,
                        "interlock_batches": seen["batches"],
                        "interlock_rpc_calls": seen["rpc_calls"],
                        "baseline_rpc_calls": math.ceil(size / batch),
                    }
                )
                say(f"round {r}: baseline {size / base_seconds:.0f}/s, ours {size / ours:.0f}/s")
        finally:
            bare.close()
            hub.close()
    report["rounds"] = rounds
    base = statistics.median(r["baseline_rate"] for r in rounds)
    ours_rate = statistics.median(r["interlock_rate"] for r in rounds)
    report["baseline_rate"] = base
    report["interlock_rate"] = ours_rate
    report["ratio"] = ours_rate / base
    report["target"] = TARGET
    report["met"] = report["ratio"] >= TARGET
    return report


def say(text: str) -> None:
    """Progress on stderr."""
    print(text, file=sys.stderr, flush=True)


def print_table(report: dict[str, Any]) -> None:
    """The rounds and the medians."""
    print(f"{'round':>6} {'baseline rec/s':>15} {'Interlock rec/s':>16} {'ratio':>7}")
    for r in report["rounds"]:
        rates = f"{r['baseline_rate']:>15.1f} {r['interlock_rate']:>16.1f}"
        print(f"{r['round']:>6} {rates} {r['ratio']:>7.2f}")
    verdict = "met" if report["met"] else "MISSED"
    print(
        f"{'median':>6} {report['baseline_rate']:>15.1f} {report['interlock_rate']:>16.1f} "
        f"{report['ratio']:>7.2f}  (target >= {TARGET}: {verdict})"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=2000, help="entries per round (2000)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each (3); medians")
    parser.add_argument(
        "--batch",
        type=int,
        default=200,
        help="lines per create call and runs per engine round (200)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="template cache folder (the Tryton tests' one)",
    )
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument(
        "--profile", help="write a cProfile of each Interlock round to PROFILE.<round>"
    )
    args = parser.parse_args(argv)
    if args.entries < 1 or args.repeat < 1 or args.batch < 1:
        parser.error("--entries, --repeat and --batch must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the bench; 1 when it failed."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="interlock-bench-tryton-"))
    try:
        report = run(args, workdir)
    except BenchFailed as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.results_dir / f"tryton-time-{stamp}.json"
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str))
    print_table(report)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
