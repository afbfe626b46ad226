"""SIGKILL a worker process in the middle of mobilising deals; restart it; nothing doubles."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from interlock.sandbox.faults import FaultPlan
from interlock.sandbox.firm import generate_firm
from interlock.store import Store, runs

from .lifecycle import good_deals, running_sandboxes


def _start_worker(env: dict[str, Any], database_url: str, log: Path) -> subprocess.Popen[bytes]:
    environ = dict(os.environ, **env["environ"])
    environ.update(
        INTERLOCK_DATABASE_URL=database_url,
        INTERLOCK_LEASE_SECONDS="2",
        INTERLOCK_WORKER_POLL_SECONDS="0.1",
        INTERLOCK_WORKER_BATCH="5",
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "interlock.cli.main",
                "worker",
                "--topology",
                str(env["topology_file"]),
                "--log-level",
                "WARNING",
            ],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _finished(store: Store) -> int:
    with store.transaction() as conn:
        counts = runs.counts(conn)
    return sum(counts.get(s, 0) for s in runs.RunStatus.FINAL)


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_mid_mobilisation_then_restart_mobilises_each_deal_exactly_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database_url = (
        f"sqlite:///{tmp_path / 'crash.sqlite'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    firm = generate_firm(11, deals=30, bad_share=0.1)
    log = tmp_path / "worker.log"
    with running_sandboxes(firm, tmp_path) as env:
        for name in ("kantata", "netsuite"):
            env[f"{name}_faults"].set(FaultPlan(latency_ms=15))
        store = Store(database_url)
        store.upgrade()
        for deal in firm.deals:
            env["salesforce"].win(env["opportunities"][deal.key])
        worker = _start_worker(env, database_url, log)
        try:
            _wait(lambda: _finished(store) >= 5, 60, "the first runs to finish")
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            assert worker.returncode == -signal.SIGKILL
            killed_at = _finished(store)
            assert killed_at < len(firm.deals), "the kill came too late to prove anything"
            worker = _start_worker(env, database_url, log)
            _wait(lambda: _finished(store) == len(firm.deals), 120, "every run to finish")
        finally:
            worker.terminate()
            worker.wait(timeout=10)
        good = good_deals(firm)
        workspaces = env["kantata"].records("workspaces")
        jobs = env["netsuite"].records("job")
        customers = env["netsuite"].records("customer")
        assert len(workspaces) == len(good), log.read_text()[-3000:]
        assert len(jobs) == len(good)
        assert collections.Counter(j["externalId"] for j in jobs).most_common(1)[0][1] == 1
        assert len(customers) == len({c["externalId"] for c in customers})
        with store.transaction() as conn:
            statuses = runs.counts(conn)
            resumed = conn.execute(
                sa.text("SELECT count(*) FROM flow_runs WHERE status = 'succeeded'")
            ).scalar_one()
        assert statuses.get("failed", 0) == 0, statuses
        assert resumed == len(good)
        store.close()
