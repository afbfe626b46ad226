"""Inbound files: claim one at a time, serve its rows in pages, file it once they are journaled.

A file's life: ``inbound/`` → (rename, so only one worker wins it) ``processing/`` → when every
row has been acknowledged → ``processed/`` (every row good) or ``failed/`` (with
``<name>.errors.json``). A page is acknowledged when the next ``read_changes`` call passes back
the cursor that page returned: the engine stores a cursor only after it has journaled the
page, so a crash or a failed journal write between the two calls loses nothing — the page is
served again and the journal's dedup key drops the repeats. A worker that dies leaves its claim
in ``processing/``; after ``claim_timeout_seconds`` another worker takes it over. Workers
sharing one stored cursor may see each other's cursors; a worker then serves its page once
more, which costs a re-read and nothing else.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import os
import stat
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interlock.connectors.base import ChangePage, NativeChange
from interlock.connectors.csvdrop import rows
from interlock.connectors.csvdrop.config import CsvDropConfig
from interlock.connectors.csvdrop.files import LineLog, folder_errors, move_exclusive, write_atomic

LEDGER = ".ledger.jsonl"


@dataclass
class Claim:
    """A file this worker has claimed, and how far its rows have been served and acknowledged."""

    path: Path
    original: str
    digest: str
    parsed: rows.ParsedFile
    acked: int = 0
    served: int = 0

    @property
    def token(self) -> str:
        """The cursor of the page served last."""
        return f"{self.path.name}@{self.served}"


def claim_name(original: str) -> str:
    """``<unix time>-<token>--<original name>``: unique, and dated for the stale-claim rule."""
    return f"{int(time.time())}-{uuid.uuid4().hex[:12]}--{original}"


def original_name(claimed: str) -> str:
    """The name the file was dropped with."""
    return claimed.partition("--")[2] or claimed


def _mtime(path: Path) -> float | None:
    """Modification time of a regular file; None for anything else or a file gone meanwhile."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_mtime if stat.S_ISREG(status.st_mode) else None


def claimed_at(name: str, mtime: float) -> float:
    """When a claim was made (the stamp in its name) or last refreshed (its mtime)."""
    stamp = name.partition("-")[0]
    return max(float(stamp) if stamp.isdigit() else 0.0, mtime)


def _renamed(name: str, tag: str) -> str:
    """``time.csv`` → ``time.<tag>.csv``."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{tag}.{suffix}" if dot and stem else f"{name}.{tag}"


class Inbox:
    """The inbound folder of one connector instance (one worker)."""

    def __init__(self, system: str, config: CsvDropConfig) -> None:
        self.system = system
        self.config = config
        self.folders = config.folders
        self._claim: Claim | None = None
        self._lock = threading.Lock()
        self._ledger = LineLog(self.folders.processed / LEDGER)
        self._processed: set[str] = set()

    def read(self, cursor: str | None, limit: int) -> ChangePage:
        """The next page of rows; see the module docstring for the acknowledgement rule."""
        with self._lock, folder_errors(self.system, f"reading {self.folders.inbound}"):
            claim = self._claim
            if claim is not None and not self._still_mine(claim):
                claim = self._claim = None
            if claim is not None:
                if cursor == claim.token:
                    claim.acked = claim.served
                    if claim.acked >= len(claim.parsed.records):
                        self._finish(claim)
                        claim = self._claim = None
                else:
                    claim.served = claim.acked
            if claim is None:
                claim = self._claim = self._next_claim()
            if claim is None:
                return ChangePage([], cursor, more=False)
            page = claim.parsed.records[claim.acked : claim.acked + max(limit, 1)]
            claim.served = claim.acked + len(page)
            changes = [self._change(claim, line, record) for line, record in page]
            return ChangePage(changes, claim.token, more=True)

    def release(self) -> None:
        """Put a claimed file back in the inbound folder (its rows may be served again)."""
        with self._lock:
            claim, self._claim = self._claim, None
            if claim is None:
                return
            with folder_errors(self.system, "releasing a claimed file"):
                try:
                    os.link(claim.path, self.folders.inbound / claim.original)
                except OSError:
                    return  # the name is taken again: the stale-claim rule picks it up later
                claim.path.unlink()

    def _still_mine(self, claim: Claim) -> bool:
        try:
            os.utime(claim.path)  # refresh the claim so no one takes it over
        except FileNotFoundError:
            return False  # taken over after a stall; its new owner serves it
        return True

    def _next_claim(self) -> Claim | None:
        for source in self._candidates():
            dropped = source.parent == self.folders.inbound
            target = self.folders.processing / claim_name(
                source.name if dropped else original_name(source.name)
            )
            try:
                os.rename(source, target)
            except FileNotFoundError:
                continue  # another worker won it
            os.utime(target)
            claim = self._open(target)
            if claim is not None:
                return claim
        return None

    def _candidates(self) -> list[Path]:
        """Stale claims of dead workers, then dropped files, oldest first."""
        folders, now = self.folders, time.time()
        # Scan the inbound folder first: a missing mount must fail, not be created.
        with os.scandir(folders.inbound) as entries:
            dropped = [Path(e.path) for e in entries if self._wanted(e.name)]
        for folder in (folders.processing, folders.processed, folders.failed):
            folder.mkdir(exist_ok=True)
        cutoff = now - self.config.claim_timeout_seconds
        stale = []
        for path in folders.processing.iterdir():
            mtime = _mtime(path)
            if mtime is not None and claimed_at(path.name, mtime) < cutoff:
                stale.append(path)
        # A file modified moments ago may still be being written by the exporter.
        settled = []
        for path in dropped:
            mtime = _mtime(path)
            if mtime is not None and mtime <= now - self.config.settle_seconds:
                settled.append((mtime, path.name, path))
        return stale + [path for _, _, path in sorted(settled)]

    def _wanted(self, name: str) -> bool:
        pattern = self.config.pattern.lower()
        return not name.startswith(".") and fnmatch.fnmatchcase(name.lower(), pattern)

    def _open(self, path: Path) -> Claim | None:
        """Read a claimed file; file away at once what has no rows to serve."""
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        self._processed |= {
            r["sha256"] for r in self._ledger.read_new() if r.get("outcome") == "processed"
        }
        original = original_name(path.name)
        if digest in self._processed:
            empty = rows.ParsedFile([], [])
            self._finish(Claim(path, original, digest, empty), outcome="duplicate")
            return None
        fmt = rows.Format(
            self.config.date_format, self.config.decimal_separator, self.config.delimiter
        )
        claim = Claim(path, original, digest, rows.parse_file(data, self.config.encoding, fmt))
        if not claim.parsed.records:
            self._finish(claim)
            return None
        return claim

    def _finish(self, claim: Claim, outcome: str | None = None) -> None:
        parsed = claim.parsed
        errors = [e.as_json() for e in ([parsed.file_error] if parsed.file_error else [])]
        errors += [e.as_json() for e in parsed.errors]
        outcome = outcome or ("failed" if errors else "processed")
        # The ledger first: should we crash before the move, the worker that takes the claim
        # over finds a fully processed file in the ledger and files it as a duplicate.
        self._ledger.append(
            {
                "sha256": claim.digest,
                "file": claim.original,
                "claim": claim.path.name,
                "outcome": outcome,
                "rows": len(parsed.records),
                "errors": len(errors),
                "at": dt.datetime.now(dt.UTC).isoformat(),
            }
        )
        if outcome == "processed":
            self._processed.add(claim.digest)
        folder = self.folders.failed if outcome == "failed" else self.folders.processed
        token = claim.path.name.partition("--")[0]
        name = _renamed(claim.original, f"duplicate-{token}") if outcome == "duplicate" else None
        name = name or claim.original
        fallback = _renamed(claim.original, token)
        if errors:
            report = {"file": claim.original, "rows_emitted": len(parsed.records), "errors": errors}
            if (folder / name).exists() or (folder / f"{name}.errors.json").exists():
                name = fallback
            write_atomic(folder / f"{name}.errors.json", json.dumps(report, indent=2).encode())
        placed = move_exclusive(claim.path, folder, name, fallback)
        if errors and placed.name != name:
            os.replace(folder / f"{name}.errors.json", folder / f"{placed.name}.errors.json")

    def _change(self, claim: Claim, line: int, record: dict[str, Any]) -> NativeChange:
        return NativeChange(
            kind="time_entry",
            native_id=record["entry_id"],
            version=rows.version_of(record),
            changed_at=dt.datetime.fromisoformat(record["approved_at"]),
            payload={
                **record,
                "source": {"file": claim.original, "line": line, "sha256": claim.digest},
            },
        )
