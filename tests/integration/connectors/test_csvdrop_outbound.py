"""General-ledger journal files on a real folder: balanced, atomic, written once."""

from __future__ import annotations

import csv
import io
import os
import threading
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from interlock.connectors.csvdrop import CsvDropConfig, CsvDropConnector
from interlock.connectors.csvdrop.files import LineLog
from interlock.connectors.csvdrop.journal import COLUMNS, journal_id
from interlock.exceptions import ConnectorUnavailable, RecordRejected, Team
from interlock.model import Invoice, RevenueEvent


def invoice(number: int, *amounts: str, currency: str = "EUR") -> Invoice:
    return Invoice.model_validate(
        {
            "id": f"invoice_{number}",
            "customer_id": "customer_1",
            "number": f"INV-{number}",
            "currency": currency,
            "issue_date": "2024-05-31",
            "lines": [
                {
                    "description": f"Consulting, part {i}",
                    "quantity": "1",
                    "unit_price": {"amount": a, "currency": currency},
                    "amount": {"amount": a, "currency": currency},
                }
                for i, a in enumerate(amounts or ("1000.00",))
            ],
            "dimensions": {"practice_id": "practice_data"},
        }
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "inbound").mkdir()
    (tmp_path / "outbound").mkdir()
    return tmp_path


def connect(root: Path, **options: Any) -> CsvDropConnector:
    values = {"base_url": root.as_uri(), "batch_max_seconds": 3600, **options}
    return CsvDropConnector("ledger", CsvDropConfig.model_validate(values))


@pytest.fixture
def connector(root: Path) -> CsvDropConnector:
    return connect(root)


def journal_files(root: Path) -> list[Path]:
    return sorted((root / "outbound").glob("GL-*.csv"))


def rows_of(root: Path) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for path in journal_files(root):
        reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
        assert tuple(reader.fieldnames or ()) == COLUMNS
        found += list(reader)
    return found


def assert_balanced(rows: list[dict[str, str]]) -> None:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[row["journal_id"]] += Decimal(row["debit"]) - Decimal(row["credit"])
    assert sums
    assert set(sums.values()) == {Decimal(0)}


def test_journals_are_written_balanced_in_one_file_on_flush(
    root: Path, connector: CsvDropConnector
) -> None:
    first = connector.upsert("invoice", invoice(1, "1000.00", "250.50"))
    assert first.created
    assert first.native_id == journal_id("invoice", "invoice_1")
    event = RevenueEvent.model_validate(
        {
            "id": "revenue_event_1",
            "project_id": "project_1",
            "kind": "milestone_completed",
            "period_start": "2024-05-01",
            "period_end": "2024-05-31",
            "amount": {"amount": "5000", "currency": "USD"},
        }
    )
    assert connector.upsert("revenue_event", event).created
    assert journal_files(root) == []  # staged, waiting for the batch
    written = connector.flush()
    assert written is not None
    assert written.name.startswith("GL-")
    assert journal_files(root) == [written]
    assert [p.name for p in (root / "outbound").iterdir() if p.name.startswith(".tmp")] == []
    rows = rows_of(root)
    assert len(rows) == 5
    assert_balanced(rows)
    assert rows[0]["account"] == "1200"
    assert rows[0]["debit"] == "1250.50"
    assert rows[0]["practice"] == "practice_data"
    assert {r["source_id"] for r in rows} == {"invoice_1", "revenue_event_1"}
    assert connector.flush() is None  # nothing waits: no empty file


def test_the_same_invoice_is_never_written_twice_even_by_a_new_instance(
    root: Path, connector: CsvDropConnector
) -> None:
    connector.upsert("invoice", invoice(1))
    again = connector.upsert("invoice", invoice(1))
    assert not again.created
    connector.flush()
    restarted = connect(root)
    assert not restarted.upsert("invoice", invoice(1)).created
    assert restarted.find("invoice", "invoice_1") == journal_id("invoice", "invoice_1")
    assert restarted.find("invoice", "invoice_2") is None
    assert restarted.flush() is None
    assert len(journal_files(root)) == 1
    assert Counter(r["source_id"] for r in rows_of(root)) == {"invoice_1": 2}


def test_an_invoice_changed_after_export_is_rejected_for_finance(
    root: Path, connector: CsvDropConnector
) -> None:
    connector.upsert("invoice", invoice(1, "1000.00"))
    connector.flush()
    with pytest.raises(RecordRejected, match="reversal") as caught:
        connect(root).upsert("invoice", invoice(1, "1200.00"))
    assert caught.value.code == "ALREADY_EXPORTED"
    assert caught.value.team is Team.FINANCE
    assert journal_files(root)[0].name in caught.value.message


def test_a_zero_invoice_is_rejected(connector: CsvDropConnector) -> None:
    with pytest.raises(RecordRejected, match="nothing to post"):
        connector.upsert("invoice", invoice(1, "0.00"))


def test_a_full_batch_is_written_without_a_flush(root: Path) -> None:
    connector = connect(root, batch_max_journals=3)
    for number in range(2):
        connector.upsert("invoice", invoice(number))
    assert journal_files(root) == []
    connector.upsert("invoice", invoice(2))
    assert len(journal_files(root)) == 1
    connector.upsert("invoice", invoice(3))
    connector.close()  # writes what still waits
    assert len(journal_files(root)) == 2
    assert len({r["journal_id"] for r in rows_of(root)}) == 4


def test_a_flush_that_died_before_the_rename_is_redone_once(
    root: Path, connector: CsvDropConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector.upsert("invoice", invoice(1))
    replace = os.replace

    def crash(src: Any, dst: Any) -> None:
        if "GL-" in str(dst):
            raise OSError(5, "Input/output error")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ConnectorUnavailable):
        connector.flush()
    monkeypatch.setattr(os, "replace", replace)
    assert journal_files(root) == []
    assert connect(root).flush() is not None
    assert [p.name for p in (root / "outbound").iterdir() if p.name.startswith(".tmp")] == []
    assert Counter(r["source_id"] for r in rows_of(root)) == {"invoice_1": 2}


def test_a_flush_that_died_after_the_rename_is_not_redone(
    root: Path, connector: CsvDropConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector.upsert("invoice", invoice(1))
    append = LineLog.append

    def crash(log: LineLog, record: dict[str, Any]) -> None:
        if record.get("op") == "published":
            raise OSError(28, "No space left on device")
        append(log, record)

    monkeypatch.setattr(LineLog, "append", crash)
    with pytest.raises(ConnectorUnavailable):
        connector.flush()
    monkeypatch.setattr(LineLog, "append", append)
    assert len(journal_files(root)) == 1
    restarted = connect(root)
    assert restarted.flush() is None
    assert not restarted.upsert("invoice", invoice(1)).created
    assert restarted.flush() is None
    assert len(journal_files(root)) == 1


def test_two_workers_writing_the_same_invoices_write_each_once(root: Path) -> None:
    start = threading.Barrier(3)

    def work() -> None:
        worker = connect(root, batch_max_journals=7)
        start.wait()
        for number in range(40):
            worker.upsert("invoice", invoice(number, f"{100 + number}.00"))
        worker.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    rows = rows_of(root)
    assert Counter(r["source_id"] for r in rows) == {f"invoice_{n}": 2 for n in range(40)}
    assert_balanced(rows)


def test_comma_decimal_settings_shape_the_file(root: Path) -> None:
    connector = connect(root, delimiter=";", decimal_separator=",", date_format="%d.%m.%Y")
    connector.upsert("invoice", invoice(1, "1234.56"))
    written = connector.flush()
    assert written is not None
    lines = written.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ";".join(COLUMNS)
    assert ";31.05.2024;1200;1234,56;0,00;EUR;" in lines[1]


def test_a_missing_outbound_folder_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "inbound").mkdir()
    connector = connect(tmp_path)
    with pytest.raises(ConnectorUnavailable, match="outbound"):
        connector.upsert("invoice", invoice(1))
    assert not (tmp_path / "outbound").exists()
