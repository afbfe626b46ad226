"""``faults set/show/clear`` against sandboxes served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from interlock.cli.faults import faults_app
from interlock.sandbox import kantata, salesforce
from interlock.sandbox.faults import Faults
from interlock.sandbox.server import SandboxServer

runner = CliRunner()


@pytest.fixture
def faults() -> Faults:
    return Faults(max_hold_seconds=2.0)


@pytest.fixture
def kantata_url(faults: Faults) -> Iterator[str]:
    with SandboxServer(kantata.create_app(kantata.KantataState(), faults)) as server:
        yield server.base_url


def invoke(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = runner.invoke(faults_app, list(args), env=env)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = orjson.loads(result.output)
    return data


def test_set_replaces_the_plan_and_prints_it(kantata_url: str, faults: Faults) -> None:
    shown = invoke(
        "set",
        kantata_url,
        "--error-rate",
        "503=0.3",
        "--error-rate",
        "429=0.1",
        "--latency-ms",
        "50",
        "--timeout-rate",
        "0.05",
        "--outage-seconds",
        "30",
        "--quota",
        "100",
        "--seed",
        "7",
    )
    assert faults.plan.error_rates == {503: 0.3, 429: 0.1}
    assert (faults.plan.latency_ms, faults.plan.timeout_rate, faults.plan.seed) == (50, 0.05, 7)
    assert faults.plan.quota == 100
    assert shown["error_rates"] == {"503": 0.3, "429": 0.1}
    assert 29 < float(shown["outage_seconds_left"]) <= 30  # type: ignore[arg-type]


def test_show_reports_the_plan_and_its_counters(kantata_url: str, faults: Faults) -> None:
    invoke("set", kantata_url, "--fail-next", "503")
    assert httpx.get(f"{kantata_url}/api/v1/workspaces").status_code == 503
    shown = invoke("show", kantata_url)
    assert shown["injected"] == 1
    assert shown["fail_next"] == []


def test_clear_removes_every_fault(kantata_url: str, faults: Faults) -> None:
    invoke("set", kantata_url, "--outage-seconds", "60")
    assert httpx.get(f"{kantata_url}/api/v1/workspaces").status_code == 503
    cleared = invoke("clear", kantata_url + "/__admin/faults")
    assert cleared["outage_seconds_left"] == 0
    assert httpx.get(f"{kantata_url}/api/v1/workspaces").status_code == 401  # no token: real answer


def test_options_read_interlock_variables(kantata_url: str, faults: Faults) -> None:
    invoke(
        "set",
        env={
            "INTERLOCK_FAULTS_URL": kantata_url,
            "INTERLOCK_FAULTS_LATENCY_MS": "5",
            "INTERLOCK_FAULTS_ERROR_RATE": "500=0.2 502=0.1",
        },
    )
    assert faults.plan.latency_ms == 5
    assert faults.plan.error_rates == {500: 0.2, 502: 0.1}


def test_a_quota_answers_the_vendor_limit_error_once_used_up(
    kantata_url: str, faults: Faults
) -> None:
    invoke("set", kantata_url, "--quota", "2")
    statuses = [httpx.get(f"{kantata_url}/api/v1/workspaces").status_code for _ in range(4)]
    assert statuses == [401, 401, 429, 429]
    refused = httpx.get(f"{kantata_url}/api/v1/workspaces")
    assert refused.json() == {"errors": [{"type": "system", "message": "Too many requests"}]}
    assert invoke("show", kantata_url)["quota_refused"] == 3


def test_salesforce_quota_refusals_can_take_its_403_shape() -> None:
    with SandboxServer(salesforce.create_app(salesforce.SalesforceState())) as server:
        invoke("set", server.base_url, "--quota", "0", "--quota-status", "403")
        refused = httpx.get(f"{server.base_url}/services/data/v62.0/sobjects")
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_a_timeout_holds_the_request_until_the_client_gives_up(
    kantata_url: str, faults: Faults
) -> None:
    invoke("set", kantata_url, "--timeout-rate", "1", "--timeout-ms", "1500")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{kantata_url}/api/v1/workspaces", timeout=0.3)
    assert faults.timeouts == 1


def test_a_held_request_is_dropped_after_timeout_ms(kantata_url: str, faults: Faults) -> None:
    invoke("set", kantata_url, "--timeout-rate", "1", "--timeout-ms", "200")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{kantata_url}/api/v1/workspaces", timeout=5)


@pytest.mark.parametrize("bad", ["503", "503=2", "abc=0.1", "700=0.1"])
def test_a_bad_error_rate_is_refused_with_the_rule(kantata_url: str, bad: str) -> None:
    result = runner.invoke(faults_app, ["set", kantata_url, "--error-rate", bad])
    assert result.exit_code == 2
    assert "STATUS=RATE" in result.output


def test_an_unreachable_sandbox_is_a_clear_error() -> None:
    result = runner.invoke(faults_app, ["show", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot reach http://127.0.0.1:9/__admin/faults" in result.output
