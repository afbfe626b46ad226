"""Outbound journals: staged durably, written in batches as one file, never twice.

State lives in an append-only log beside the files, ``outbound/.gl-ledger.jsonl``, shared by
every worker through an exclusive lock on ``outbound/.gl.lock`` (the OS drops it when a process
dies). Records, in order of a journal's life::

    {"op": "staged", "journal_id", "source_id", "fingerprint", "lines"}   upsert
    {"op": "publishing", "file", "journals"}    flush: the temp file is complete and fsynced
    {"op": "published", "file"}                 flush: the temp file was renamed into place
    {"op": "abandoned", "file"}                 recovery: the rename never happened

A journal id that is staged is never staged again, so an invoice is written once however often
its step runs. A flush that died between "publishing" and "published" is settled by the next
one: a temp file still there means the rename did not happen (the journals wait for the next
file); no temp file means it did.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock.connectors.csvdrop import journal
from interlock.connectors.csvdrop.config import CsvDropConfig
from interlock.connectors.csvdrop.files import LineLog, fsync_dir, write_durably
from interlock.connectors.csvdrop.journal import JournalLine

LOG = ".gl-ledger.jsonl"
LOCK = ".gl.lock"
TMP = ".tmp-"


class AlreadyExported(Exception):
    """The journal id was staged before with different content."""

    def __init__(self, journal_id: str, file: str | None) -> None:
        super().__init__(journal_id)
        self.journal_id = journal_id
        self.file = file


@dataclass
class Staged:
    """A journal in the log: its fingerprint, and the file it went out in (None: waiting)."""

    fingerprint: str
    staged_at: float
    lines: list[JournalLine] = field(default_factory=list)
    file: str | None = None


class Outbox:
    """The outbound folder of one connector instance."""

    def __init__(self, config: CsvDropConfig) -> None:
        self.config = config
        self.folder = config.folders.outbound
        self._log = LineLog(self.folder / LOG)
        self._journals: dict[str, Staged] = {}
        self._publishing: dict[str, list[str]] = {}
        self._files = 0
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the folder's lock and catch up with what other workers logged."""
        with self._thread_lock:
            if not self.folder.is_dir():
                raise FileNotFoundError(2, "no such folder", str(self.folder))
            fd = os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                for record in self._log.read_new():
                    self._apply(record)
                yield
            finally:
                os.close(fd)  # releases the lock

    def _apply(self, record: dict[str, Any]) -> None:
        op = record.get("op")
        if op == "staged":
            self._journals[record["journal_id"]] = Staged(
                record["fingerprint"],
                float(record.get("at", 0)),
                [JournalLine.from_json(line) for line in record["lines"]],
            )
        elif op == "publishing":
            self._publishing[record["file"]] = list(record["journals"])
            self._files += 1
        elif op == "published":
            for journal_id in self._publishing.pop(record["file"], []):
                staged = self._journals[journal_id]
                staged.file, staged.lines = record["file"], []
        elif op == "abandoned":
            self._publishing.pop(record["file"], None)

    def stage(self, journal_id: str, source_id: str, lines: list[JournalLine]) -> bool:
        """Stage a journal; False if it was staged before (raises AlreadyExported if changed)."""
        fingerprint = journal.fingerprint(lines)
        with self._locked():
            known = self._journals.get(journal_id)
            if known is not None:
                if known.fingerprint != fingerprint:
                    raise AlreadyExported(journal_id, known.file)
                return False
            record = {
                "op": "staged",
                "journal_id": journal_id,
                "source_id": source_id,
                "fingerprint": fingerprint,
                "lines": [line.as_json() for line in lines],
                "at": time.time(),
            }
            self._log_and_apply(record)
            return True

    def exported(self, journal_id: str) -> bool:
        """Whether the journal was staged (it is then written, or will be at the next flush)."""
        with self._locked():
            return journal_id in self._journals

    def due(self) -> bool:
        """Whether enough journals wait, or the oldest has waited long enough, to flush."""
        with self._locked():
            waiting = self._waiting()
            if not waiting:
                return False
            oldest = min(self._journals[j].staged_at for j in waiting)
            return (
                len(waiting) >= self.config.batch_max_journals
                or time.time() - oldest >= self.config.batch_max_seconds
            )

    def flush(self) -> Path | None:
        """Write every waiting journal to one new file; None if none waits."""
        with self._locked():
            self._recover()
            waiting = self._waiting()
            if not waiting:
                return None
            name = self._next_name()
            tmp, final = self.folder / f"{TMP}{name}", self.folder / name
            lines = [line for j in waiting for line in self._journals[j].lines]
            journal.check_balanced(lines)
            cfg = self.config
            data = journal.render(
                lines,
                delimiter=cfg.delimiter,
                decimal=cfg.decimal_separator,
                date_format=cfg.date_format,
            )
            write_durably(tmp, data)
            self._log_and_apply({"op": "publishing", "file": name, "journals": waiting})
            os.replace(tmp, final)
            fsync_dir(self.folder)
            self._log_and_apply({"op": "published", "file": name})
            return final

    def _waiting(self) -> list[str]:
        busy = {j for ids in self._publishing.values() for j in ids}
        return [j for j, s in self._journals.items() if s.file is None and j not in busy]

    def _next_name(self) -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        sequence = self._files + 1
        while True:
            name = f"GL-{stamp}-{sequence:06d}.csv"
            if not (self.folder / name).exists():
                return name
            sequence += 1

    def _recover(self) -> None:
        """Settle flushes that died (we hold the lock, so no flush is running)."""
        for name in list(self._publishing):
            tmp = self.folder / f"{TMP}{name}"
            if tmp.exists():
                self._log_and_apply({"op": "abandoned", "file": name})
                tmp.unlink()
            else:
                self._log_and_apply({"op": "published", "file": name})
        for leftover in self.folder.glob(f"{TMP}GL-*"):
            leftover.unlink()  # died before logging "publishing": its journals still wait

    def _log_and_apply(self, record: dict[str, Any]) -> None:
        # Under the lock the log was caught up, so reading on returns just this record.
        self._log.append(record)
        for logged in self._log.read_new():
            self._apply(logged)
