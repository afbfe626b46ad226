from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlock.connectors.http import VendorHttp
from interlock.exceptions import ConnectorUnavailable, OutcomeUnknown, RecordRejected
from interlock.sandbox.faults import FaultMiddleware, Faults
from interlock.sandbox.server import SandboxServer


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def http(faults: Faults) -> Iterator[VendorHttp]:
    calls = {"n": 0}

    async def thing(request: Request) -> Response:
        calls["n"] += 1
        if request.method == "POST":
            return JSONResponse({"created": calls["n"]}, status_code=201)
        return JSONResponse({"calls": calls["n"]})

    app = Starlette(routes=[Route("/thing", thing, methods=["GET", "POST"])])
    with SandboxServer(FaultMiddleware(app, faults)) as server:
        client = VendorHttp("vendor", server.base_url, timeout=0.5)
        yield client
        client.close()


def test_a_transient_read_failure_is_retried_inline(http: VendorHttp, faults: Faults) -> None:
    faults.fail_next(503, 500)
    assert http.request("GET", "/thing").status_code == 200
    assert faults.injected == 2


def test_writes_are_never_retried_inline(http: VendorHttp, faults: Faults) -> None:
    faults.fail_next(503)
    with pytest.raises(ConnectorUnavailable) as caught:
        http.request("POST", "/thing", json={})
    assert caught.value.status == 503
    assert http.request("POST", "/thing", json={}).status_code == 201


def test_a_write_that_times_out_has_an_unknown_outcome(http: VendorHttp, faults: Faults) -> None:
    faults.plan.latency_ms = 800
    with pytest.raises(OutcomeUnknown):
        http.request("POST", "/thing", json={})


def test_client_errors_are_final(http: VendorHttp) -> None:
    with pytest.raises(RecordRejected) as caught:
        http.request("DELETE", "/thing")
    assert caught.value.status == 405
    assert not caught.value.retryable
