"""The CSV file-drop connector: a legacy, on-premises system that talks through folders.

Approved time comes in as CSV files exported by a legacy PSA (see ``inbound``); invoices and
revenue events go out as general-ledger journal import files for an on-premises ERP (see
``outbox``). The formats are described in ``docs/csv-drops.md``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from interlock.connectors.base import ChangePage, Connector, NativeChange, UpsertResult
from interlock.connectors.csvdrop import journal
from interlock.connectors.csvdrop.config import CsvDropConfig
from interlock.connectors.csvdrop.files import folder_errors
from interlock.connectors.csvdrop.inbound import Inbox
from interlock.connectors.csvdrop.outbox import AlreadyExported, Outbox
from interlock.exceptions import ConnectorUnavailable, RecordRejected, Team
from interlock.model import (
    ApprovalState,
    Invoice,
    RevenueEvent,
    TimeEntry,
    canonical_id,
    validate_contract,
)

log = logging.getLogger(__name__)


class CsvDropConnector(Connector):
    """Reads approved time from dropped CSV files and writes general-ledger journal files.

    Args:
        system: Name of this system in the topology.
        config: The folders and file formats.
    """

    type = "csv_drop"
    kinds = frozenset({"time_entry", "invoice", "revenue_event"})

    def __init__(self, system: str, config: CsvDropConfig) -> None:
        super().__init__(system)
        self.config = config
        self._inbox = Inbox(system, config)
        self._outbox = Outbox(config)

    def authenticate(self) -> None:
        """Check now that the folders can be read and written. Raises ConnectorUnavailable."""
        folders = self.config.folders
        for folder in (folders.inbound, folders.outbound):
            with folder_errors(self.system, f"cannot use folder {folder}"):
                os.listdir(folder)
                if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
                    raise PermissionError(13, "Permission denied", str(folder))

    def close(self) -> None:
        """Write journals still waiting and hand back a file claimed but not fully read."""
        try:
            self.flush()
        finally:
            self._inbox.release()

    # -- inbound ----------------------------------------------------------------------------

    def read_changes(self, kind: str, cursor: str | None, limit: int = 200) -> ChangePage:
        """The next page of approved time entries from dropped files.

        Pass back the cursor of the previous page: that acknowledges it, and a file is moved
        to ``processed/`` or ``failed/`` only once all its rows are acknowledged. A page that
        was not acknowledged is served again. ``more`` is True while a file is open.
        """
        self._kind(kind, {"time_entry"})
        return self._inbox.read(cursor, limit)

    def classify(self, change: NativeChange) -> str:
        """Every row of the export is approved time."""
        return "approved"

    def to_canonical(self, change: NativeChange) -> BaseModel:
        """The canonical time entry of a row; references use this system's codes.

        The consultant's canonical id is derived from the email, the project's from its code
        and the task's from ``<project_code>/<task_code>``: the engine's cross-reference maps
        them to the records other systems know.
        """
        self._kind(change.kind, {"time_entry"})
        row = change.payload
        project, task = row.get("project_code"), row.get("task_code")
        data = {
            "id": canonical_id("time_entry", self.system, change.native_id),
            "project_id": canonical_id("project", self.system, str(project)),
            "task_id": canonical_id("task", self.system, f"{project}/{task}") if task else None,
            "consultant_id": canonical_id(
                "consultant", self.system, str(row.get("consultant_email", "")).lower()
            ),
            "date": row.get("date"),
            "hours": row.get("hours"),
            "billable": row.get("billable"),
            "state": ApprovalState.APPROVED,
            "description": row.get("description"),
        }
        return validate_contract(
            TimeEntry, data, subject=f"time entry {change.native_id}", team=Team.PMO
        )

    # -- outbound ---------------------------------------------------------------------------

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        """Stage the journal of an invoice or revenue event, once; the native id is its id.

        A journal already staged with the same content returns ``created=False`` and writes
        nothing. A record that changed after its journal was staged is rejected: correcting
        a posted journal needs a reversal, which this connector does not write.
        """
        self._kind(kind, {"invoice", "revenue_event"})
        accounts = self.config.ledger_accounts
        if isinstance(record, Invoice) and kind == "invoice":
            lines = journal.invoice_journal(record, accounts)
        elif isinstance(record, RevenueEvent) and kind == "revenue_event":
            lines = journal.revenue_journal(record, accounts)
        else:
            raise TypeError(f"upsert of {kind} got a {type(record).__name__}")
        journal_id = journal.journal_id(kind, record.id)
        if not lines:
            raise RecordRejected(
                self.system,
                f"{kind} {record.id} has nothing to post: every amount is zero",
                code="EMPTY_JOURNAL",
            )
        try:
            with folder_errors(self.system, f"staging journal {journal_id}"):
                created = self._outbox.stage(journal_id, record.id, lines)
        except AlreadyExported as exc:
            where = f"in {exc.file}" if exc.file else "for the next journal file"
            rejected = RecordRejected(
                self.system,
                f"{kind} {record.id} changed after its journal {journal_id} was written {where}; "
                "post a reversal of that journal in the ERP and book the corrected record by "
                "hand (Interlock does not write reversals)",
                code="ALREADY_EXPORTED",
            )
            rejected.team = Team.FINANCE
            raise rejected from None
        self._flush_if_due()
        return UpsertResult(native_id=journal_id, created=created)

    def find(self, kind: str, canonical_id: str) -> str | None:
        """The journal id staged for ``canonical_id``, or None."""
        self._kind(kind, {"invoice", "revenue_event"})
        journal_id = journal.journal_id(kind, canonical_id)
        with folder_errors(self.system, f"reading {self.config.folders.outbound}"):
            return journal_id if self._outbox.exported(journal_id) else None

    def flush(self) -> Path | None:
        """Write every staged journal to one new ``GL-<time>-<seq>.csv``; None if none waits."""
        with folder_errors(self.system, f"writing to {self.config.folders.outbound}"):
            return self._outbox.flush()

    def _flush_if_due(self) -> None:
        try:
            with folder_errors(self.system, f"writing to {self.config.folders.outbound}"):
                if self._outbox.due():
                    self._outbox.flush()
        except ConnectorUnavailable as exc:
            # The journal is staged durably; the next flush writes it.
            log.warning("%s: journal file not written yet: %s", self.system, exc)

    def _kind(self, kind: str, allowed: set[str]) -> None:
        if kind not in allowed:
            raise NotImplementedError(
                f"{self.type} handles {', '.join(sorted(allowed))} here, not {kind}"
            )
