"""The throughput bench still runs end to end: a tiny run of each path, read from its report.

Rates from 500 events mean nothing; these tests only prove the command works, every event
reaches the sink exactly once, and the JSON report keeps the fields docs/performance.md uses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "throughput.py"
EVENTS = 500


def run_bench(results: Path, only: str) -> dict[str, Any]:
    command = [sys.executable, str(BENCH), "--events", str(EVENTS), "--only", only]
    completed = subprocess.run(
        [*command, "--results-dir", str(results), "--timeout", "25"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [report] = results.glob("throughput-*.json")
    data: dict[str, Any] = json.loads(report.read_text())
    assert "events/s" in completed.stdout  # the table was printed
    return data


def check_configuration(report: dict[str, Any], name: str) -> None:
    result = report["configurations"][name]
    assert not result["errors"], result["errors"]
    assert result["rate"] > 0
    [run] = result["runs"]
    assert run["events"] == EVENTS
    assert run["sink"]["keys"] == EVENTS  # every event delivered, with its idempotency key
    assert run["sink"]["missing_key"] == 0
    assert sum(run["queue"].values()) == EVENTS  # and nothing left open in the queue
    assert run["cpu_ms_per_event"] > 0
    assert {"producer", "sink", "worker1"} <= set(run["cpu_seconds"])
    assert run["workers"], "worker memory was not sampled"
    for worker in run["workers"]:
        assert {"rss_warm_mb", "rss_peak_mb", "rss_end_mb", "growth_pct"} <= set(worker)
        assert worker["rss_peak_mb"] >= worker["rss_end_mb"] > 0


def check_report(report: dict[str, Any]) -> None:
    machine = report["machine"]
    assert machine["nproc"] >= 1
    assert len(machine["load_average_before"]) == 3
    assert {"interlock", "procrastinate", "psycopg", "aiohttp"} <= set(machine["packages"])
    assert report["payload_bytes"] > 300
    assert report["settings"]["events"] == EVENTS
    figures = {figure["figure"] for figure in report["figures"]}
    assert "interlock-pg-2 / procrastinate" in figures


def figure(report: dict[str, Any], name: str) -> Any:
    return next(f["value"] for f in report["figures"] if f["figure"] == name)


def test_sqlite_paths_run_and_report(tmp_path: Path) -> None:
    report = run_bench(tmp_path, "raw-sqlite,interlock-sqlite-1")
    check_report(report)
    check_configuration(report, "raw-sqlite")
    check_configuration(report, "interlock-sqlite-1")
    run = report["configurations"]["interlock-sqlite-1"]["runs"][0]
    assert run["queue"] == {"done": EVENTS}  # the journal: every entry done
    assert run["runs"] == {"succeeded": EVENTS}  # one forward run per event, all delivered
    assert figure(report, "interlock-sqlite-1 / raw-sqlite") > 0


@pytest.mark.postgres
def test_postgresql_paths_run_and_report(tmp_path: Path, pg_url: str) -> None:
    # pg_url: skips (or fails in CI) when PostgreSQL is missing; the bench makes its own databases.
    report = run_bench(tmp_path, "raw-pg,interlock-pg-2")
    check_report(report)
    check_configuration(report, "raw-pg")
    check_configuration(report, "interlock-pg-2")
    run = report["configurations"]["interlock-pg-2"]["runs"][0]
    assert run["runs"] == {"succeeded": EVENTS}
    assert [w["worker"] for w in run["workers"]] == ["worker1", "worker2"]
    assert figure(report, "interlock-pg-2 / raw-pg") > 0
