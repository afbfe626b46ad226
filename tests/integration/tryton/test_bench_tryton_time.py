"""The Tryton time-posting bench still runs: a tiny round, read back from its JSON report.

Rates from 40 entries mean nothing; this proves the command works end to end on the cached
template, posts every entry exactly once (the bench fails otherwise) and reports both rates
and their ratio.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from interlock.connectors.tryton.template import Template

from .conftest import ADMIN_PASSWORD, USER_PASSWORD

ROOT = Path(__file__).resolve().parents[3]
BENCH = ROOT / "bench" / "tryton_time.py"
ENTRIES = 40


@pytest.mark.parametrize("tryton_backend", ["sqlite"], indirect=True)
def test_bench_posts_every_entry_once_and_reports_the_ratio(
    tryton_templates: dict[str, Future[Template]],
    tryton_backend: str,
    tmp_path: Path,
) -> None:
    template = tryton_templates[tryton_backend].result()  # built (or found) in the cache
    assert template.database.directory is not None
    cache = template.database.directory.parent
    command = [sys.executable, str(BENCH), "--entries", str(ENTRIES), "--repeat", "1"]
    command += ["--cache", str(cache), "--results-dir", str(tmp_path)]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "median" in completed.stdout  # the table was printed
    [file] = tmp_path.glob("tryton-time-*.json")
    report: dict[str, Any] = json.loads(file.read_text())
    assert report["baseline_rate"] > 0
    assert report["interlock_rate"] > 0
    assert report["ratio"] == pytest.approx(report["interlock_rate"] / report["baseline_rate"])
    [round_] = report["rounds"]
    assert round_["entries"] == round_["lines_verified"] == ENTRIES
    assert sum(round_["interlock_batches"]) == ENTRIES  # posted through the batch method
    assert report["machine"]["nproc"] >= 1
    assert {"trytond", "interlock"} <= set(report["machine"]["packages"])


def test_bench_uses_the_tests_credentials_so_it_shares_their_template() -> None:
    sys.path.insert(0, str(BENCH.parent))
    try:
        tryton_time = importlib.import_module("tryton_time")
    finally:
        sys.path.remove(str(BENCH.parent))
    assert tryton_time.ADMIN_PASSWORD == ADMIN_PASSWORD
    assert tryton_time.USER_PASSWORD == USER_PASSWORD
