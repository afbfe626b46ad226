"""VendorHttp drawing from a request budget, against a sandbox over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlock.connectors.config import ConnectorConfig
from interlock.connectors.http import VendorHttp
from interlock.exceptions import RateLimited
from interlock.quota import QUOTA_CODE, Limits, LocalBudget, Window, budgets
from interlock.sandbox.faults import FaultMiddleware, FaultPlan, Faults
from interlock.sandbox.server import SandboxServer


@dataclass
class Vendor:
    """A small vendor: counts requests by method and the peak in flight."""

    url: str
    faults: Faults
    usage: int = 0
    limit: int = 1000
    methods: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    faults = Faults()
    state = Vendor("", faults)

    async def thing(request: Request) -> Response:
        with state.lock:
            state.methods[request.method] = state.methods.get(request.method, 0) + 1
            state.usage += 1
            state.in_flight += 1
            state.peak = max(state.peak, state.in_flight)
        await _sleep(float(request.query_params.get("sleep", 0)))
        with state.lock:
            state.in_flight -= 1
        response = JSONResponse({"ok": True}, status_code=201 if request.method == "POST" else 200)
        response.headers["Sforce-Limit-Info"] = f"api-usage={state.usage}/{state.limit}"
        return response

    app = Starlette(routes=[Route("/thing", thing, methods=["GET", "POST"])])
    with SandboxServer(FaultMiddleware(app, faults)) as server:
        state.url = server.base_url
        yield state
    budgets.clear()


Connect = Callable[..., VendorHttp]


@pytest.fixture
def connect() -> Iterator[Connect]:
    opened: list[VendorHttp] = []

    def make(*args: Any, **kwargs: Any) -> VendorHttp:
        opened.append(VendorHttp(*args, **kwargs))
        return opened[-1]

    yield make
    for http in opened:
        http.close()


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def config(vendor: Vendor, **quota: object) -> ConnectorConfig:
    return ConnectorConfig(base_url=vendor.url, **quota)


def test_a_429_pauses_the_budget_for_its_retry_after(vendor: Vendor, connect: Connect) -> None:
    http = connect("vendor", vendor.url, limits=config(vendor, max_quota_wait_seconds=0))
    vendor.faults.fail_next(429)  # with Retry-After: 1
    with pytest.raises(RateLimited) as vendor_said:
        http.request("POST", "/thing", json={})
    assert vendor_said.value.status == 429
    sent = vendor.methods.get("POST", 0)
    with pytest.raises(RateLimited) as budget_said:
        http.request("POST", "/thing", json={})
    assert budget_said.value.code == QUOTA_CODE
    assert budget_said.value.retry_after == pytest.approx(1, abs=0.2)
    assert vendor.methods.get("POST", 0) == sent, "the paused request never left"
    time.sleep(1)
    assert http.request("POST", "/thing", json={}).status_code == 201


def test_a_short_pause_is_waited_out_inline(vendor: Vendor, connect: Connect) -> None:
    http = connect("vendor", vendor.url, limits=config(vendor, max_quota_wait_seconds=5))
    vendor.faults.fail_next(429)
    with pytest.raises(RateLimited):
        http.request("POST", "/thing", json={})
    started = time.monotonic()
    assert http.request("POST", "/thing", json={}).status_code == 201
    assert time.monotonic() - started >= 0.8


def test_writes_over_the_write_window_never_reach_the_vendor(
    vendor: Vendor, connect: Connect
) -> None:
    limits = config(vendor, writes_per_minute=2, max_quota_wait_seconds=0)
    http = connect("vendor", vendor.url, limits=limits)
    for _ in range(2):
        http.request("POST", "/thing", json={})
    with pytest.raises(RateLimited) as caught:
        http.request("POST", "/thing", json={})
    assert caught.value.retry_after == pytest.approx(60, abs=1)
    assert http.request("GET", "/thing").status_code == 200  # reads still flow
    assert vendor.methods == {"POST": 2, "GET": 1}


def test_a_post_that_only_reads_can_be_counted_as_a_read(vendor: Vendor, connect: Connect) -> None:
    http = connect(
        "vendor", vendor.url, limits=config(vendor, writes_per_minute=1, max_quota_wait_seconds=0)
    )
    for _ in range(3):
        http.request("POST", "/thing", json={"q": "SELECT"}, write=False)
    assert vendor.methods == {"POST": 3}


def test_connectors_of_one_system_share_one_budget(vendor: Vendor, connect: Connect) -> None:
    limits = config(vendor, writes_per_minute=3, max_quota_wait_seconds=0)
    first = connect("vendor", vendor.url, limits=limits)
    second = connect("vendor", vendor.url, limits=limits)
    assert first.budget is second.budget
    for http in (first, second, first):
        http.request("POST", "/thing", json={})
    with pytest.raises(RateLimited):
        second.request("POST", "/thing", json={})


def test_concurrent_requests_stay_under_max_concurrency(vendor: Vendor, connect: Connect) -> None:
    http = connect("vendor", vendor.url, limits=config(vendor, max_concurrency=3))
    threads = [
        threading.Thread(target=lambda: http.request("GET", "/thing", params={"sleep": 0.02}))
        for _ in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert vendor.methods == {"GET": 12}
    assert vendor.peak == 3


def test_usage_headers_stop_requests_before_the_vendor_refuses_them(
    vendor: Vendor, connect: Connect
) -> None:
    vendor.limit = 3
    budget = LocalBudget("vendor", Limits(max_wait=0, recheck_seconds=60))
    http = connect("vendor", vendor.url, budget=budget)
    for _ in range(3):
        http.request("GET", "/thing")
    with pytest.raises(RateLimited) as caught:
        http.request("GET", "/thing")
    assert caught.value.code == QUOTA_CODE
    assert caught.value.retry_after == pytest.approx(60, abs=1)
    assert vendor.usage == 3


def test_token_requests_are_not_metered(vendor: Vendor, connect: Connect) -> None:
    budget = LocalBudget("vendor", Limits(max_concurrency=1, max_wait=0))
    http = connect("vendor", vendor.url, budget=budget)
    with budget.acquire():  # every metered request would be refused now
        assert http.request("POST", "/thing", data={"grant_type": "x"}, auth=False).is_success


def test_a_sandbox_quota_becomes_rate_limited(vendor: Vendor, connect: Connect) -> None:
    http = connect("vendor", vendor.url, limits=config(vendor, max_quota_wait_seconds=0))
    vendor.faults.set(FaultPlan(quota=2))
    http.request("POST", "/thing", json={})
    http.request("POST", "/thing", json={})
    with pytest.raises(RateLimited) as caught:
        http.request("POST", "/thing", json={})
    assert caught.value.status == 429
    assert vendor.faults.quota_refused == 1


def test_a_registered_budget_meters_connectors_built_without_limits(
    vendor: Vendor, connect: Connect
) -> None:
    budget = budgets.register(
        LocalBudget("vendor", Limits(windows=(Window("all", 1, 60),), max_wait=0))
    )
    http = connect("vendor", vendor.url)
    assert http.budget is budget
    http.request("GET", "/thing")
    with pytest.raises(RateLimited):
        http.request("GET", "/thing")
    assert vendor.usage == 1
