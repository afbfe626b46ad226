"""Approved time from dropped CSV files, on real folders: claimed once, filed, never lost."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from interlock.connectors.base import NativeChange
from interlock.connectors.csvdrop import CsvDropConfig, CsvDropConnector
from interlock.connectors.csvdrop.inbound import Inbox
from interlock.connectors.csvdrop.rows import COLUMNS
from interlock.exceptions import ConnectorUnavailable, ContractViolation
from interlock.model import ApprovalState, TimeEntry, canonical_id


def row(entry: str, **values: str) -> dict[str, str]:
    return {
        "entry_id": entry,
        "consultant_email": "ana.silva@example.com",
        "project_code": "PRJ-7",
        "task_code": "DEV",
        "date": "2024-05-09",
        "hours": "7.5",
        "billable": "yes",
        "description": "Build the pipeline",
        "approved_by": "lead@example.com",
        "approved_at": "2024-05-09T18:00:00Z",
        **values,
    }


def drop(
    root: Path, name: str, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS
) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path = root / "inbound" / name
    path.write_bytes(out.getvalue().encode("utf-8-sig"))  # as Excel saves it
    return path


def drain(connector: CsvDropConnector, limit: int = 200) -> list[NativeChange]:
    """Read like the engine: pass each page's cursor back until nothing more waits."""
    changes: list[NativeChange] = []
    cursor: str | None = None
    while True:
        page = connector.read_changes("time_entry", cursor, limit)
        changes += page.changes
        cursor = page.cursor
        if not page.more:
            return changes


def ledger(root: Path) -> list[dict[str, object]]:
    text = (root / "processed" / ".ledger.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "inbound").mkdir()
    (tmp_path / "outbound").mkdir()
    return tmp_path


def connect(root: Path, **options: float) -> CsvDropConnector:
    config = CsvDropConfig.model_validate(
        {"base_url": root.as_uri(), "settle_seconds": 0, **options}
    )
    return CsvDropConnector("legacy_psa", config)


@pytest.fixture
def connector(root: Path) -> CsvDropConnector:
    return connect(root)


def test_a_good_file_becomes_changes_and_moves_to_processed(
    root: Path, connector: CsvDropConnector
) -> None:
    drop(root, "time-2024-05.csv", [row("T-1"), row("T-2", hours="8", billable="no")])
    changes = drain(connector)
    assert [c.native_id for c in changes] == ["T-1", "T-2"]
    assert {connector.classify(c) for c in changes} == {"approved"}
    assert changes[0].payload["source"]["line"] == 2
    assert names(root / "inbound") == []
    assert names(root / "processing") == []
    assert names(root / "processed") == [".ledger.jsonl", "time-2024-05.csv"]
    [entry] = ledger(root)
    assert (entry["file"], entry["outcome"], entry["rows"]) == ("time-2024-05.csv", "processed", 2)

    first = connector.to_canonical(changes[0])
    assert isinstance(first, TimeEntry)
    assert first.id == canonical_id("time_entry", "legacy_psa", "T-1")
    assert first.consultant_id == canonical_id("consultant", "legacy_psa", "ana.silva@example.com")
    assert first.project_id == canonical_id("project", "legacy_psa", "PRJ-7")
    assert first.task_id == canonical_id("task", "legacy_psa", "PRJ-7/DEV")
    assert first.hours == Decimal("7.5")
    assert first.state is ApprovalState.APPROVED
    second = connector.to_canonical(changes[1])
    assert isinstance(second, TimeEntry)
    assert second.billable is False


def test_the_same_file_dropped_again_emits_nothing(root: Path, connector: CsvDropConnector) -> None:
    drop(root, "time.csv", [row("T-1"), row("T-2")])
    assert len(drain(connector)) == 2
    drop(root, "time.csv", [row("T-1"), row("T-2")])
    assert drain(connect(root)) == []  # a new worker knows it from the ledger
    assert [e["outcome"] for e in ledger(root)] == ["processed", "duplicate"]
    kept = names(root / "processed")
    assert "time.csv" in kept
    assert any("duplicate" in name for name in kept)  # both files kept


def test_an_entry_exported_again_in_another_file_has_the_same_version(
    root: Path, connector: CsvDropConnector
) -> None:
    drop(root, "a.csv", [row("T-1")])
    [first] = drain(connector)
    drop(root, "b.csv", [row("T-1", description="Build the pipeline "), row("T-2")])
    again, _ = drain(connector)
    drop(root, "c.csv", [row("T-1", hours="6")])
    [corrected] = drain(connector)
    assert (again.native_id, again.version) == (first.native_id, first.version)
    assert corrected.native_id == "T-1"
    assert corrected.version != first.version


def test_good_rows_of_a_partly_bad_file_are_emitted_and_bad_rows_parked(
    root: Path, connector: CsvDropConnector
) -> None:
    drop(root, "mixed.csv", [row("T-1"), row("T-2", hours="30"), row("T-3", approved_by="")])
    changes = drain(connector)
    assert [c.native_id for c in changes] == ["T-1"]
    assert names(root / "failed") == ["mixed.csv", "mixed.csv.errors.json"]
    report = json.loads((root / "failed" / "mixed.csv.errors.json").read_text())
    assert report["rows_emitted"] == 1
    assert [(e["line"], e["column"], e["rule"]) for e in report["errors"]] == [
        (3, "hours", "range"),
        (4, "approved_by", "required"),
    ]
    assert report["errors"][0]["raw"]["entry_id"] == "T-2"
    assert ledger(root)[0]["outcome"] == "failed"


def test_a_corrected_file_with_the_fixed_rows_is_read_later(
    root: Path, connector: CsvDropConnector
) -> None:
    drop(root, "mixed.csv", [row("T-1"), row("T-2", hours="30")])
    drain(connector)
    drop(root, "mixed.csv", [row("T-2", hours="3")])
    [fixed] = drain(connector)
    assert fixed.native_id == "T-2"
    assert "mixed.csv" in names(root / "processed")
    assert "mixed.csv" in names(root / "failed")


def test_a_file_with_a_wrong_header_fails_whole_naming_the_columns(
    root: Path, connector: CsvDropConnector
) -> None:
    drop(root, "export.csv", [row("T-1")], columns=("entry_id", "consultant_email", "hours"))
    (root / "inbound" / "notes.csv").write_bytes(b"\x00\x01\x02\xff\xfe binary")
    assert drain(connector) == []
    assert names(root / "failed") == [
        "export.csv",
        "export.csv.errors.json",
        "notes.csv",
        "notes.csv.errors.json",
    ]
    [error] = json.loads((root / "failed" / "export.csv.errors.json").read_text())["errors"]
    assert error["rule"] == "header"
    assert "project_code" in error["message"]
    assert "approved_at" in error["message"]


def test_a_large_file_is_served_in_pages_and_filed_after_the_last(
    root: Path, connector: CsvDropConnector
) -> None:
    drop(root, "big.csv", [row(f"T-{i}") for i in range(5)])
    page = connector.read_changes("time_entry", None, 2)
    assert [c.native_id for c in page.changes] == ["T-0", "T-1"]
    assert page.more
    assert len(names(root / "processing")) == 1
    again = connector.read_changes("time_entry", None, 2)  # not acknowledged: served again
    assert [c.native_id for c in again.changes] == ["T-0", "T-1"]
    rest = connector.read_changes("time_entry", again.cursor, 2)
    assert [c.native_id for c in rest.changes] == ["T-2", "T-3"]
    last = connector.read_changes("time_entry", rest.cursor, 2)
    assert [c.native_id for c in last.changes] == ["T-4"]
    assert names(root / "processed") == []  # the last page is not acknowledged yet
    assert len(names(root / "processing")) == 1
    done = connector.read_changes("time_entry", last.cursor, 2)
    assert (done.changes, done.more) == ([], False)
    assert names(root / "processed") == [".ledger.jsonl", "big.csv"]


def test_a_file_claimed_by_a_worker_that_died_is_taken_over(root: Path) -> None:
    drop(root, "time.csv", [row("T-1"), row("T-2")])
    dead = connect(root)
    assert len(dead.read_changes("time_entry", None, 1).changes) == 1  # then it dies
    [claimed] = (root / "processing").iterdir()
    taken = connect(root, claim_timeout_seconds=60)
    assert drain(taken) == []  # a fresh claim is left alone
    old = claimed.with_name("1700000000-0123456789ab--time.csv")
    claimed.rename(old)
    os.utime(old, (1_700_000_000, 1_700_000_000))
    assert [c.native_id for c in drain(taken)] == ["T-1", "T-2"]
    assert names(root / "processed") == [".ledger.jsonl", "time.csv"]
    assert dead.read_changes("time_entry", None, 1).changes == []  # it lost the claim


def test_closing_hands_a_claimed_file_back(root: Path, connector: CsvDropConnector) -> None:
    drop(root, "time.csv", [row("T-1"), row("T-2")])
    connector.read_changes("time_entry", None, 1)
    connector.close()
    assert names(root / "inbound") == ["time.csv"]
    assert [c.native_id for c in drain(connect(root))] == ["T-1", "T-2"]


def test_two_workers_racing_claim_each_file_once(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for f in range(40):
        drop(root, f"time-{f:02d}.csv", [row(f"T-{f}-{r}") for r in range(3)])
    # Both workers list the folder, then go for the same oldest file at the same moment.
    listed = threading.Barrier(2, timeout=2)
    candidates = Inbox._candidates

    def in_step(inbox: Inbox) -> list[Path]:
        found = candidates(inbox)
        with contextlib.suppress(threading.BrokenBarrierError):
            listed.wait()
        return found

    monkeypatch.setattr(Inbox, "_candidates", in_step)
    seen: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        changes = drain(connect(root), limit=2)
        with lock:
            seen.extend(c.native_id for c in changes)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    counts = Counter(seen)
    assert len(counts) == 120
    assert set(counts.values()) == {1}
    assert len([n for n in names(root / "processed") if n.endswith(".csv")]) == 40
    assert sorted(str(e["file"]) for e in ledger(root)) == [f"time-{f:02d}.csv" for f in range(40)]


def test_files_not_matching_or_still_being_written_are_left_alone(root: Path) -> None:
    drop(root, "time.csv", [row("T-1")])
    (root / "inbound" / "readme.txt").write_text("not for us")
    (root / "inbound" / ".partial.csv").write_text("hidden")
    assert drain(connect(root, settle_seconds=3600)) == []  # just written
    assert [c.native_id for c in drain(connect(root))] == ["T-1"]
    assert names(root / "inbound") == [".partial.csv", "readme.txt"]


def test_a_missing_folder_is_unavailable_not_created(tmp_path: Path) -> None:
    connector = connect(tmp_path / "unmounted")
    with pytest.raises(ConnectorUnavailable, match="unmounted"):
        connector.read_changes("time_entry", None)
    with pytest.raises(ConnectorUnavailable):
        connector.authenticate()
    assert not (tmp_path / "unmounted").exists()


def test_a_tampered_payload_is_a_contract_violation(
    root: Path, connector: CsvDropConnector
) -> None:
    drop(root, "time.csv", [row("T-1")])
    [change] = drain(connector)
    broken = NativeChange(
        change.kind,
        change.native_id,
        change.version,
        change.changed_at,
        {**change.payload, "hours": "0"},
    )
    with pytest.raises(ContractViolation, match="hours"):
        connector.to_canonical(broken)
