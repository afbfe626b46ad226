"""The in-process budget, on a fake clock: windows, pauses, vendor quotas, priorities."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from interlock.exceptions import RateLimited
from interlock.quota import (
    QUOTA_CODE,
    Limits,
    LocalBudget,
    Priority,
    Window,
)

DAY = 86_400.0


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def budget(clock: FakeClock, **limits: object) -> LocalBudget:
    return LocalBudget("vendor", Limits(**limits), clock=clock, poll=0.01)  # type: ignore[arg-type]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def waiting(b: LocalBudget, n: int) -> Callable[[], bool]:
    return lambda: b.snapshot()["waiting"] == n


def use(b: LocalBudget, n: int, *, write: bool = False) -> None:
    for _ in range(n):
        with b.acquire(write=write, max_wait=0):
            pass


def refusal(b: LocalBudget, *, write: bool = False, priority: Priority = Priority.DEFAULT) -> float:
    with pytest.raises(RateLimited) as caught:
        b.acquire(priority, write=write, max_wait=0)
    assert caught.value.code == QUOTA_CODE
    assert caught.value.retry_after is not None
    return caught.value.retry_after


def test_a_full_window_refuses_with_the_time_until_its_oldest_request_leaves(
    clock: FakeClock,
) -> None:
    b = budget(clock, windows=(Window("requests", 3, 60),))
    use(b, 1)
    clock.advance(10)
    use(b, 2)
    assert refusal(b) == pytest.approx(50)
    clock.advance(50)
    use(b, 1)  # the first request left the window
    assert refusal(b) == pytest.approx(10)


def test_a_request_counts_from_its_answer_not_from_when_it_was_sent(clock: FakeClock) -> None:
    b = budget(clock, windows=(Window("requests", 1, 60),))
    with b.acquire(max_wait=0):
        clock.advance(5)  # a slow answer
    clock.advance(59)
    assert refusal(b) == pytest.approx(1)


def test_write_windows_do_not_hold_back_reads(clock: FakeClock) -> None:
    b = budget(
        clock, windows=(Window("reads", 200, 60, "reads"), Window("writes", 2, 60, "writes"))
    )
    use(b, 2, write=True)
    assert refusal(b, write=True) == pytest.approx(60)
    use(b, 5, write=False)
    assert b.snapshot()["windows"] == {"reads": 5, "writes": 2}


def test_a_pause_refuses_everything_until_it_ends_and_never_shortens(clock: FakeClock) -> None:
    b = budget(clock)
    b.pause_for(30)
    b.pause_for(5)
    assert refusal(b, priority=Priority.INVOICE) == pytest.approx(30)
    clock.advance(30)
    use(b, 1)


def test_an_exhausted_daily_quota_raises_at_once_with_seconds_until_refill(
    clock: FakeClock,
) -> None:
    b = budget(clock, windows=(Window("daily", 100, DAY),), max_wait=10)
    use(b, 40)
    clock.advance(3600)
    use(b, 60)
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        b.acquire(Priority.TIME)  # default max_wait of 10 s: far less than the refill
    assert time.monotonic() - started < 1, "it must not wait for a refill hours away"
    assert caught.value.retry_after == pytest.approx(DAY - 3600)
    assert caught.value.retryable
    clock.advance(DAY - 3600)
    use(b, 40)  # the first 40 left the window
    assert refusal(b) == pytest.approx(3600)


def test_a_short_wait_is_waited_out(clock: FakeClock) -> None:
    b = budget(clock, windows=(Window("requests", 1, 60),), max_wait=120)
    use(b, 1)
    admitted = threading.Event()

    def late() -> None:
        with b.acquire():
            admitted.set()

    thread = threading.Thread(target=late)
    thread.start()
    assert not admitted.wait(0.1)
    clock.advance(60)
    assert admitted.wait(2)
    thread.join()


def test_concurrency_waits_at_most_max_wait(clock: FakeClock) -> None:
    b = LocalBudget("vendor", Limits(max_concurrency=1, max_wait=0.05), poll=0.01)
    with b.acquire(), pytest.raises(RateLimited) as caught:
        b.acquire()
    assert caught.value.retry_after == Limits().default_pause
    with b.acquire():
        pass


def test_scarce_slots_go_to_invoices_then_time_then_the_rest_then_master_data() -> None:
    b = LocalBudget("vendor", Limits(max_concurrency=1, max_wait=5), poll=0.01)
    order: list[Priority] = []
    holder = b.acquire()
    threads = []
    arrival = [Priority.MASTER_DATA, Priority.DEFAULT, Priority.TIME, Priority.INVOICE]
    for n, priority in enumerate(arrival, start=1):

        def work(p: Priority = priority) -> None:
            with b.acquire(p):
                order.append(p)

        threads.append(threading.Thread(target=work))
        threads[-1].start()
        wait_until(waiting(b, n))
    holder.release()
    for thread in threads:
        thread.join(5)
    assert order == [Priority.INVOICE, Priority.TIME, Priority.DEFAULT, Priority.MASTER_DATA]
    assert b.peak_in_flight == 1


def test_equal_priorities_are_served_in_arrival_order() -> None:
    b = LocalBudget("vendor", Limits(max_concurrency=1, max_wait=5), poll=0.01)
    order: list[int] = []
    holder = b.acquire()
    threads = []
    for n in range(1, 5):

        def work(i: int = n) -> None:
            with b.acquire(Priority.TIME):
                order.append(i)

        threads.append(threading.Thread(target=work))
        threads[-1].start()
        wait_until(waiting(b, n))
    holder.release()
    for thread in threads:
        thread.join(5)
    assert order == [1, 2, 3, 4]


def test_a_waiter_held_back_by_a_full_window_leaves_its_slot_to_others(clock: FakeClock) -> None:
    b = budget(clock, max_concurrency=1, windows=(Window("writes", 1, 60, "writes"),), max_wait=120)
    use(b, 1, write=True)
    admitted = threading.Event()

    def invoice() -> None:
        with b.acquire(Priority.INVOICE, write=True):
            admitted.set()

    blocked_write = threading.Thread(target=invoice)
    blocked_write.start()
    wait_until(lambda: b.snapshot()["waiting"] == 1)
    with b.acquire(Priority.MASTER_DATA, write=False, max_wait=0):
        pass  # the invoice waits for the write window, not for the slot
    assert not admitted.is_set()
    clock.advance(60)
    blocked_write.join(5)
    assert admitted.is_set()


def test_threads_never_exceed_the_concurrency_limit() -> None:
    b = LocalBudget("vendor", Limits(max_concurrency=3, max_wait=10), poll=0.01)
    lock = threading.Lock()
    state = {"now": 0, "peak": 0, "done": 0}

    def work() -> None:
        for _ in range(20):
            with b.acquire():
                with lock:
                    state["now"] += 1
                    state["peak"] = max(state["peak"], state["now"])
                time.sleep(0.001)
                with lock:
                    state["now"] -= 1
                    state["done"] += 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert state["done"] == 160
    assert state["peak"] == 3


def test_learned_salesforce_usage_stops_before_the_vendor_refuses(clock: FakeClock) -> None:
    b = budget(clock, recheck_seconds=300)
    b.learn({"Sforce-Limit-Info": "api-usage=98/100"})
    use(b, 2)
    assert refusal(b) == pytest.approx(300)
    clock.advance(300)
    with b.acquire(max_wait=0):  # one probe to see whether the quota refilled
        assert refusal(b) == pytest.approx(1.0)  # others wait for the probe's answer
        b.learn({"Sforce-Limit-Info": "api-usage=3/100"})
    use(b, 5)


def test_learned_exhaustion_with_a_daily_window_waits_for_that_window(clock: FakeClock) -> None:
    b = budget(clock, windows=(Window("daily", 5, DAY),))
    use(b, 5)
    b.learn({"Sforce-Limit-Info": "api-usage=5/5"})
    assert refusal(b) == pytest.approx(DAY)


def test_late_answers_never_lower_the_learned_usage(clock: FakeClock) -> None:
    b = budget(clock)
    b.learn({"Sforce-Limit-Info": "api-usage=8/10"})
    use(b, 2)  # our own count says 10/10
    b.learn({"Sforce-Limit-Info": "api-usage=9/10"})  # the answer to a request sent earlier
    refusal(b)


def test_x_ratelimit_headers_block_until_their_reset(clock: FakeClock) -> None:
    b = budget(clock)
    b.learn({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"})
    assert refusal(b) == pytest.approx(30)
    clock.advance(30)
    use(b, 1)


def test_limits_cannot_be_nonsense() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        Limits(max_concurrency=0)
    with pytest.raises(ValueError, match="unique"):
        Limits(windows=(Window("a", 1, 1), Window("a", 2, 1)))
    with pytest.raises(ValueError, match="limit >= 1"):
        Limits(windows=(Window("a", 0, 1),))


def test_requests_other_clients_sent_shrink_what_is_left_of_the_daily_window(
    clock: FakeClock,
) -> None:
    b = budget(clock, windows=(Window("daily", 100, DAY),))
    use(b, 10)
    b.learn({"Sforce-Limit-Info": "api-usage=95/100"})  # 85 came from someone else
    use(b, 5)
    assert refusal(b) == pytest.approx(DAY)  # when our oldest request leaves the window


def test_a_quota_used_up_by_others_is_probed_after_recheck_seconds(clock: FakeClock) -> None:
    b = budget(clock, windows=(Window("daily", 100, DAY),), recheck_seconds=600)
    b.learn({"Sforce-Limit-Info": "api-usage=100/100"})
    assert refusal(b) == pytest.approx(600)
    clock.advance(600)
    with b.acquire(max_wait=0):
        b.learn({"Sforce-Limit-Info": "api-usage=40/100"})  # the probe was the 40th
    use(b, 60)
    refusal(b)
