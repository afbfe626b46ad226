"""Throughput of each connector against its sandbox under the vendor's limit.

    .venv/bin/python bench/connector_limits.py [--seconds 9] [--only netsuite] [--full]

For each sandbox, in process and over real HTTP: configure the vendor's limit in the sandbox,
register a request budget with the same limit (``interlock.quota``), drive writes through
the real connector from several threads, and measure at the sandbox the requests answered
per second and the requests refused for exceeding the limit. Work the budget refuses for
longer than its max wait is parked and retried after ``retry_after``, as the engine does.

Windows are scaled down so a run takes seconds (``--full`` uses Float's and Kantata's real
60 s windows). Target: achieved / theoretical >= 0.9 with zero refusals. Results go to
bench/results/connector_limits.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interlock.exceptions import RateLimited
from interlock.model import BillingType, Customer, Project, canonical_id
from interlock.quota import (
    QUOTA_CODE,
    Budget,
    Limits,
    LocalBudget,
    Priority,
    Window,
    budgets,
    prioritized,
)
from interlock.sandbox.server import SandboxServer

RESULTS = Path(__file__).parent / "results" / "connector_limits.json"


class Meter:
    """ASGI wrapper counting answered requests and limit refusals at the sandbox."""

    def __init__(
        self, app: ASGIApp, counted: Callable[[str, str], bool], refused: Callable[[int], bool]
    ) -> None:
        self.app, self.counted, self.refused_status = app, counted, refused
        self.lock = threading.Lock()
        self.answered = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.counted(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                with self.lock:
                    if self.refused_status(message["status"]):
                        self.refused += 1
                    else:
                        self.answered += 1
            await send(message)

        await self.app(scope, receive, counting)

    def read(self) -> tuple[int, int]:
        with self.lock:
            return self.answered, self.refused


@dataclass
class Row:
    sandbox: str
    limit: str
    theoretical_per_s: float
    achieved_per_s: float
    ratio: float
    requests: int
    rejected: int
    sandbox_counter: int | None
    parked: int
    seconds: float
    note: str = ""


def drive(call: Callable[[int], object], *, workers: int, seconds: float) -> int:
    """Run ``call(i)`` from ``workers`` threads for ``seconds``; the number of parkings."""
    numbers = itertools.count()
    deadline = time.monotonic() + seconds
    parked = [0]
    lock = threading.Lock()

    def worker() -> None:
        while time.monotonic() < deadline:
            try:
                call(next(numbers))
            except RateLimited as exc:
                if exc.code != QUOTA_CODE:
                    raise
                with lock:
                    parked[0] += 1
                # Parked like a run: back when the budget has room (never past the deadline).
                time.sleep(max(0.0, min(exc.retry_after or 0.1, deadline - time.monotonic())))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return parked[0]


def measure(
    name: str,
    meter: Meter,
    call: Callable[[int], object],
    *,
    workers: int,
    seconds: float,
    theoretical: float,
    limit: str,
    counter: Callable[[], int] | None = None,
    note: str = "",
) -> Row:
    start_answered, start_refused = meter.read()
    started = time.monotonic()
    parked = drive(call, workers=workers, seconds=seconds)
    elapsed = time.monotonic() - started
    answered, refused = meter.read()
    achieved = (answered - start_answered) / elapsed
    return Row(
        name,
        limit,
        round(theoretical, 1),
        round(achieved, 1),
        round(achieved / theoretical, 3),
        answered - start_answered,
        refused - start_refused,
        None if counter is None else counter(),
        parked,
        round(elapsed, 2),
        note,
    )


def customer(i: int) -> Customer:
    return Customer(id=canonical_id("customer", "bench", f"c{i}"), name=f"Bench customer {i}")


def project(i: int) -> Project:
    return Project(
        id=canonical_id("project", "bench", f"p{i}"),
        name=f"Bench project {i}",
        customer_id=canonical_id("customer", "bench", "c0"),
        start_date=dt.date(2026, 1, 5),
        end_date=dt.date(2026, 6, 30),
        billing_type=BillingType.TIME_AND_MATERIALS,
    )


# -- the sandboxes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    seconds: float = 9.0
    full: bool = False
    netsuite_latency: float = 0.1
    database: str | None = None

    def budget(self, system: str, limits: Limits) -> Budget:
        """The budget under test: in process, or shared through ``database``."""
        if self.database is None:
            return LocalBudget(system, limits)
        from interlock.quota.shared import SharedBudget
        from interlock.quota.tables import create_tables, metadata
        from interlock.store.database import create_engine

        engine = create_engine(self.database)
        create_tables(engine)
        with engine.begin() as conn:  # start from an unused budget
            for table in metadata.sorted_tables:
                conn.execute(table.delete().where(table.c.system == system))
        return SharedBudget(system, limits, engine)


def netsuite(options: Options) -> Row:
    from interlock.connectors.netsuite import NetSuiteConfig, NetSuiteConnector
    from interlock.sandbox.netsuite import NetSuiteState, create_app

    limit, latency, seconds = 5, options.netsuite_latency, options.seconds
    state = NetSuiteState(account_id="1234567_SB1", concurrency_limit=limit)
    state.register_tba("ck", "cs", "tid", "ts")
    state.processing_delay = latency
    meter = Meter(
        create_app(state),
        lambda _m, path: path.startswith("/services/rest/") and "/auth/" not in path,
        lambda status: status == 429,
    )
    budgets.register(options.budget("netsuite", Limits(max_concurrency=limit, max_wait=30)))
    with SandboxServer(meter) as server:
        config = NetSuiteConfig(
            base_url=server.base_url,
            account_id="1234567_SB1",
            auth_method="tba",
            consumer_key="ck",
            consumer_secret=SecretStr("cs"),
            token_id="tid",
            token_secret=SecretStr("ts"),
            concurrency=64,  # its own limiter out of the way: the shared budget is measured
        )
        connector = NetSuiteConnector("netsuite", config)
        connector.upsert("customer", customer(-1))
        service = _service_time(meter, lambda i: connector.upsert("customer", customer(-2 - i)))
        row = measure(
            "netsuite",
            meter,
            lambda i: connector.upsert("customer", customer(i)),
            workers=limit + 2,
            seconds=seconds,
            theoretical=limit / service,
            limit=f"{limit} concurrent, +{latency * 1000:.0f} ms per request",
            counter=lambda: int(state.rejected_over_limit),
        )
        connector.close()
    nominal = limit / latency
    row.note = (
        f"theoretical = {limit} / {service * 1000:.1f} ms (one request alone, measured); "
        f"vs {limit}/{latency:g} s = {nominal:.0f}/s: {row.achieved_per_s / nominal:.3f}; "
        f"peak in flight at the sandbox {state.peak_in_flight}"
    )
    return row


def _service_time(meter: Meter, call: Callable[[int], object], rounds: int = 40) -> float:
    """Seconds one request takes alone (no budget, one at a time): the unavoidable part."""
    budget = budgets.registered("netsuite")
    assert budget is not None
    before = meter.read()[0]
    started = time.monotonic()
    for i in range(rounds):
        call(i)
    return (time.monotonic() - started) / (meter.read()[0] - before)


def salesforce(options: Options) -> Row:
    seconds = options.seconds
    from interlock.connectors.salesforce import SalesforceConfig, SalesforceConnector
    from interlock.sandbox.salesforce import (
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        SalesforceState,
        create_app,
    )

    day, limit = 3.0, 300  # a 24-hour rolling window scaled to 3 s
    real0, org0 = time.time(), dt.datetime.now(dt.UTC)
    scale = 86_400 / day

    def org_clock() -> dt.datetime:
        return org0 + dt.timedelta(seconds=(time.time() - real0) * scale)

    state = SalesforceState(api_limit=limit, clock=org_clock)
    meter = Meter(
        create_app(state),
        lambda _m, path: path.startswith("/services/data/"),
        lambda status: status == 403,
    )
    daily = Window("daily", limit, day)
    budgets.register(options.budget("salesforce", Limits(windows=(daily,), max_wait=0.2)))
    with SandboxServer(meter) as server:
        config = SalesforceConfig(
            base_url=server.base_url,
            client_id=DEMO_CLIENT_ID,
            client_secret=SecretStr(DEMO_CLIENT_SECRET),
        )
        connector = SalesforceConnector("salesforce", config)
        connector.authenticate()
        row = measure(
            "salesforce",
            meter,
            lambda i: connector.upsert("customer", customer(i)),
            workers=4,
            seconds=max(seconds, 3 * day),
            theoretical=limit / day,
            limit=f"{limit} requests per rolling day (a day scaled to {day:g} s)",
            note="Sforce-Limit-Info learned from every answer",
        )
        connector.close()
    return row


def kantata(options: Options) -> Row:
    seconds, full = options.seconds, options.full
    from interlock.connectors.kantata import KantataConfig, KantataConnector
    from interlock.sandbox.kantata import DEMO_TOKEN, KantataState, create_app

    window, limit = (60.0, 600) if full else (1.0, 60)
    state = KantataState(rate_limit=limit, rate_window_seconds=window)
    meter = Meter(
        create_app(state),
        lambda _m, path: path.startswith("/api/v1/"),
        lambda status: status == 429,
    )
    budgets.register(
        options.budget("kantata", Limits(windows=(Window("requests", limit, window),), max_wait=2))
    )
    with SandboxServer(meter) as server:
        config = KantataConfig(base_url=server.base_url, access_token=SecretStr(DEMO_TOKEN))
        connector = KantataConnector("kantata", config)
        row = measure(
            "kantata",
            meter,
            lambda i: connector.upsert("project", project(i)),
            workers=4,
            seconds=max(seconds, 2.5 * window),
            theoretical=limit / window,
            limit=f"{limit} requests per {window:g} s window",
        )
        connector.close()
    return row


class Unpaced:
    """The Float connector's own pacing, switched off: the shared budget is measured."""

    def acquire(self, method: str) -> None:
        return None

    def pause(self, method: str, seconds: float) -> None:
        return None


def float_(options: Options) -> Row:
    seconds, full = options.seconds, options.full
    from interlock.connectors.float_ import FloatConfig, FloatConnector
    from interlock.sandbox.float_ import DEMO_TOKEN, FloatState, create_app

    window = 60.0 if full else 2.0
    reads, writes = 200, 100
    state = FloatState(reads_per_minute=reads, writes_per_minute=writes, rate_window_seconds=window)
    meter = Meter(
        create_app(state),
        lambda method, path: path.startswith("/v3/") and method != "GET",
        lambda status: status == 429,
    )
    limits = Limits(
        windows=(
            Window("reads", reads, window, "reads"),
            Window("writes", writes, window, "writes"),
        ),
        max_wait=5,
    )
    budgets.register(options.budget("float", limits))
    with SandboxServer(meter) as server:
        config = FloatConfig(
            base_url=server.base_url,
            access_token=SecretStr(DEMO_TOKEN),
            user_agent="Interlock bench (bench@interlock.example)",
        )
        connector = FloatConnector("float", config, budget=Unpaced())
        batch = 10

        def write(i: int) -> None:
            items: list[tuple[BaseModel, Mapping[str, str]]] = [
                (project(i * batch + k), {}) for k in range(batch)
            ]
            connector.upsert_many("project", items)

        usage = state.usage(DEMO_TOKEN)
        row = measure(
            "float",
            meter,
            write,
            workers=2,
            seconds=max(seconds, 3 * window),
            theoretical=writes / window,
            limit=f"{reads} reads + {writes} writes per {window:g} s (writes measured)",
            counter=lambda: sum(
                state.usage(DEMO_TOKEN)[k] - usage[k] for k in ("reads_rejected", "writes_rejected")
            ),
            note="upsert_many of 10 projects: one paged list, ten POSTs",
        )
        connector.close()
    return row


SANDBOXES: dict[str, Callable[[Options], Row]] = {
    "netsuite": netsuite,
    "salesforce": salesforce,
    "kantata": kantata,
    "float": float_,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=9.0, help="Least time per sandbox.")
    parser.add_argument("--only", choices=sorted(SANDBOXES), action="append")
    parser.add_argument("--full", action="store_true", help="Real 60 s windows (slow).")
    parser.add_argument(
        "--netsuite-latency-ms",
        type=float,
        default=Options.netsuite_latency * 1000,
        help="Latency NetSuite adds to every request (the limit is 5 concurrent).",
    )
    parser.add_argument(
        "--database",
        help="Use the budget shared through this database (sqlite:///… or postgresql://…) "
        "instead of the in-process one.",
    )
    args = parser.parse_args(argv)
    options = Options(args.seconds, args.full, args.netsuite_latency_ms / 1000, args.database)
    rows = []
    for name in args.only or list(SANDBOXES):
        try:
            with prioritized(Priority.TIME):
                rows.append(SANDBOXES[name](options))
        except Exception as exc:  # noqa: BLE001 - a broken sandbox must not hide the others
            rows.append(Row(name, "", 0, 0, 0, 0, 0, None, 0, 0, f"failed: {exc!r}"))
        finally:
            budgets.clear()
        print(_line(rows[-1]), flush=True)
    _write(rows)
    failed = [r for r in rows if r.ratio < 0.9 or r.rejected or (r.sandbox_counter or 0)]
    return 1 if failed else 0


def _line(row: Row) -> str:
    rejected = row.rejected + (row.sandbox_counter or 0)
    verdict = "ok" if row.ratio >= 0.9 and not rejected else "BELOW TARGET"
    counter = "" if row.sandbox_counter is None else f" (sandbox counter {row.sandbox_counter})"
    return (
        f"{row.sandbox:<11} {row.achieved_per_s:>7.1f}/s of {row.theoretical_per_s:>6.1f}/s "
        f"= {row.ratio:5.3f}  rejected {row.rejected}{counter}  parked {row.parked}  "
        f"[{row.limit}] {row.note} -> {verdict}"
    )


def _write(rows: list[Row]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        "target": "ratio >= 0.9 with zero rejected",
        "results": [asdict(r) for r in rows],
    }
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
