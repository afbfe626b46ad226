"""`interlock serve` as a real process: API up, in-process worker mobilising won deals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from interlock.sandbox.firm import generate_firm
from interlock.sandbox.server import free_port

from .lifecycle import good_deals, running_sandboxes


def test_serve_answers_health_and_reports_mobilised_deals(tmp_path: Path) -> None:
    firm = generate_firm(3, deals=8, bad_share=0.25)
    port = free_port()
    with running_sandboxes(firm, tmp_path) as env:
        environ = dict(
            os.environ,
            **env["environ"],
            INTERLOCK_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite'}",
            INTERLOCK_WORKER_POLL_SECONDS="0.1",
        )
        with (tmp_path / "serve.log").open("ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "interlock.cli.main",
                    "serve",
                    "--topology",
                    str(env["topology_file"]),
                    "--port",
                    str(port),
                    "--log-level",
                    "WARNING",
                ],
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
            assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
            for deal in firm.deals:
                env["salesforce"].win(env["opportunities"][deal.key])
            deadline = time.monotonic() + 60
            while True:
                status = httpx.get(f"{base}/api/v1/status").json()
                if sum(status["runs"].values()) == len(firm.deals) and not status["runs"].get(
                    "running"
                ):
                    break
                assert time.monotonic() < deadline, status
                time.sleep(0.2)
            assert status["projects_mobilized"] == len(good_deals(firm))
            assert status["cycle_time_seconds"]["p95"] is not None
            rejected = [r for r in status["rejections"] if r["status"] == "rejected"]
            assert len(rejected) == len(firm.deals) - len(good_deals(firm))
            assert all(r["problems"] and r["team"] == "sales_ops" for r in rejected)
            runs = httpx.get(f"{base}/api/v1/runs", params={"status": "succeeded"}).json()
            detail = httpx.get(f"{base}/api/v1/runs/{runs['items'][0]['id']}").json()
            assert [s["name"] for s in detail["steps"]][-1] == "ready"
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
        assert process.returncode == 0, (tmp_path / "serve.log").read_text()
