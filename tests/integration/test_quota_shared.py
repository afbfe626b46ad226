"""The database-backed budget on SQLite and PostgreSQL: one budget for many processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from interlock.exceptions import RateLimited
from interlock.quota import QUOTA_CODE, Limits, Priority, Window
from interlock.quota.shared import SharedBudget
from interlock.quota.tables import create_tables
from interlock.store.database import create_engine

Interval = tuple[float, float]


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(db_url)
    create_tables(engine)
    yield engine
    engine.dispose()


def peak_overlap(intervals: list[Interval]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def waiting(budget: SharedBudget, n: int) -> Callable[[], bool]:
    return lambda: budget.snapshot()["waiting"] == n


def hold_slots(
    url: str,
    limits: Limits,
    rounds: int,
    ready: multiprocessing.Queue,  # type: ignore[type-arg]
    go: Any,
    results: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    """Worker process: take a slot ``rounds`` times, report when each was held."""
    engine = create_engine(url)
    budget = SharedBudget("netsuite", limits, engine, poll=0.01)
    held: list[Interval] = []
    ready.put(True)
    go.wait(60)
    for _ in range(rounds):
        with budget.acquire(Priority.TIME, write=True):
            start = time.time()
            time.sleep(0.01)
            held.append((start, time.time()))
    engine.dispose()
    results.put(held)


@pytest.mark.slow
def test_processes_never_exceed_the_concurrency_limit(engine: sa.Engine, db_url: str) -> None:
    limits = Limits(max_concurrency=2, max_wait=60)
    SharedBudget("netsuite", limits, engine)  # creates the slots
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Queue(), context.Event(), context.Queue()
    workers = [
        context.Process(target=hold_slots, args=(db_url, limits, 10, ready, go, results))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    go.set()  # all at once, so they contend
    held = [interval for _ in workers for interval in results.get(timeout=120)]
    for worker in workers:
        worker.join(30)
    assert len(held) == 30
    assert peak_overlap(held) == 2


def test_threads_with_their_own_engines_never_exceed_the_limit(
    engine: sa.Engine, db_url: str
) -> None:
    limits = Limits(max_concurrency=3, max_wait=60)
    held: list[Interval] = []

    def worker() -> None:
        own = create_engine(db_url)
        budget = SharedBudget("netsuite", limits, own, poll=0.01)
        for _ in range(8):
            with budget.acquire():
                start = time.time()
                time.sleep(0.03)
                held.append((start, time.time()))
        own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(held) == 48
    assert 1 < peak_overlap(held) <= 3


def test_a_dead_holders_slot_frees_when_its_lease_ends(engine: sa.Engine) -> None:
    limits = Limits(max_concurrency=1, lease_seconds=0.5, max_wait=0.1)
    crashed = SharedBudget("netsuite", limits, engine)
    crashed.acquire()  # never released: its process "died"
    survivor = SharedBudget("netsuite", limits, engine, poll=0.01)
    with pytest.raises(RateLimited):
        survivor.acquire()
    time.sleep(0.5)
    with survivor.acquire():
        assert survivor.snapshot()["in_flight"] == 1


def test_a_window_is_shared_by_every_process(engine: sa.Engine) -> None:
    limits = Limits(windows=(Window("writes", 5, 60, "writes"),), max_wait=0)
    first, second = (SharedBudget("float", limits, engine) for _ in range(2))
    for budget in (first, second, first, second, first):
        with budget.acquire(write=True):
            pass
    with pytest.raises(RateLimited) as caught:
        second.acquire(write=True)
    assert caught.value.code == QUOTA_CODE
    assert caught.value.retry_after == pytest.approx(61, abs=1.1)  # a window and a bucket
    with second.acquire(write=False):
        pass  # reads are not counted against the write window


def test_a_pause_asked_by_the_vendor_holds_every_process(engine: sa.Engine) -> None:
    limits = Limits(max_wait=0)
    one, other = SharedBudget("kantata", limits, engine), SharedBudget("kantata", limits, engine)
    one.pause_for(30)
    with pytest.raises(RateLimited) as caught:
        other.acquire(Priority.INVOICE)
    assert caught.value.retry_after == pytest.approx(30, abs=1)


def test_a_learned_quota_is_shared(engine: sa.Engine) -> None:
    limits = Limits(max_wait=0, recheck_seconds=120)
    one, other = (SharedBudget("salesforce", limits, engine) for _ in range(2))
    one.learn({"Sforce-Limit-Info": "api-usage=99/100"})
    with other.acquire():
        pass
    with pytest.raises(RateLimited) as caught:
        one.acquire()
    assert caught.value.retry_after == pytest.approx(120, abs=1)
    assert other.snapshot()["learned"] == {"limit": 100, "used": 100}


def test_a_waiting_invoice_is_served_before_waiting_master_data(engine: sa.Engine) -> None:
    limits = Limits(max_concurrency=1, max_wait=30)
    holder = SharedBudget("netsuite", limits, engine).acquire()
    order: list[Priority] = []

    def wait_for_slot(priority: Priority) -> None:
        with SharedBudget("netsuite", limits, engine, poll=0.01).acquire(priority):
            order.append(priority)
            time.sleep(0.05)

    observer = SharedBudget("netsuite", limits, engine)
    threads = []
    for n, priority in enumerate((Priority.MASTER_DATA, Priority.INVOICE), start=1):
        threads.append(threading.Thread(target=wait_for_slot, args=(priority,)))
        threads[-1].start()
        wait_until(waiting(observer, n))
    holder.release()
    for thread in threads:
        thread.join(30)
    assert order == [Priority.INVOICE, Priority.MASTER_DATA]
