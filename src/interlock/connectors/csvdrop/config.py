"""Configuration spec of the CSV file-drop connector.

The system is a folder, not an API, so this spec does not inherit ``ConnectorConfig``'s
``http(s)`` base URL: ``base_url`` is a ``file://`` URL naming the root folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LedgerAccounts(BaseModel):
    """General-ledger accounts and cost centres of the journal import file."""

    model_config = ConfigDict(extra="forbid")

    receivable: str = Field("1200", min_length=1, description="Accounts receivable (debited).")
    unbilled_receivable: str = Field(
        "1210",
        min_length=1,
        description="Unbilled receivables, debited when revenue is recognised before invoicing.",
    )
    revenue: str = Field("4000", min_length=1, description="Service revenue (credited).")
    cost_centers: dict[str, str] = Field(
        {},
        description="Canonical practice id → cost centre, used when a record's dimensions "
        "name a practice but no cost centre.",
    )
    default_cost_center: str = Field(
        "", description="Cost centre written when neither dimensions nor practice give one."
    )


def folder_of(url: str) -> Path:
    """The local folder a ``file://`` URL names (``file:///srv/drops`` → ``/srv/drops``)."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost") or not parts.path:
        raise ValueError(f"must be a file:// URL of a local folder, got {url!r}")
    return Path(unquote(parts.path))


class CsvDropConfig(BaseModel):
    """Settings of a legacy, on-premises system exchanging CSV files through folders.

    Approved time arrives as CSV files in ``inbound_dir``; general-ledger journal import files
    are written to ``outbound_dir``. Give ``base_url`` (``file:///srv/psa``) to use its
    ``inbound/``, ``outbound/``, ``processing/``, ``processed/`` and ``failed/`` subfolders, or
    name the folders one by one. The file formats are described in ``docs/csv-drops.md``.
    """

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(
        None,
        description="Root folder as a file:// URL; the other folders default to its "
        "subfolders inbound/, outbound/, processing/, processed/ and failed/.",
        examples=["file:///srv/legacy-psa"],
        pattern=r"^file://",
    )
    inbound_dir: Path | None = Field(
        None, description="Folder the legacy PSA drops approved-time CSV files into."
    )
    outbound_dir: Path | None = Field(
        None, description="Folder the ERP imports general-ledger journal files from."
    )
    processing_dir: Path | None = Field(
        None,
        description="Where a worker moves a file it has claimed (default: processing/ of the "
        "root folder, or of inbound_dir when there is no base_url).",
    )
    processed_dir: Path | None = Field(
        None, description="Where fully read files go, with the ledger of their hashes."
    )
    failed_dir: Path | None = Field(
        None, description="Where files with bad rows go, each with a <name>.errors.json."
    )
    pattern: str = Field("*.csv", min_length=1, description="Glob of the files to read.")
    delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator.")
    encoding: str = Field(
        "utf-8-sig",
        min_length=1,
        description="Encoding of inbound files; utf-8-sig also accepts Excel's byte-order mark.",
    )
    date_format: str = Field(
        "%Y-%m-%d", min_length=2, description="strftime format of dates, in and out."
    )
    decimal_separator: str = Field(
        ".", pattern=r"^[.,]$", description="Decimal separator of numbers, in and out."
    )
    settle_seconds: float = Field(
        2.0,
        ge=0,
        description="Leave a dropped file alone until it has not changed for this long, in "
        "case the exporter is still writing it.",
    )
    claim_timeout_seconds: float = Field(
        900.0,
        gt=0,
        description="A claimed inbound file untouched this long belongs to a worker that "
        "died; another worker takes it over.",
    )
    batch_max_journals: int = Field(
        200, ge=1, description="Write the journal file once this many journals are waiting."
    )
    batch_max_seconds: float = Field(
        60.0,
        ge=0,
        description="Write the journal file once the oldest waiting journal is this old.",
    )
    ledger_accounts: LedgerAccounts = Field(
        LedgerAccounts(),
        description="Accounts and cost centres of the journal lines.",
    )

    @model_validator(mode="after")
    def _folders(self) -> CsvDropConfig:
        if self.delimiter == self.decimal_separator:
            raise ValueError("delimiter and decimal_separator must differ")
        root = folder_of(self.base_url) if self.base_url else None
        if root is not None:
            self.inbound_dir = self.inbound_dir or root / "inbound"
            self.outbound_dir = self.outbound_dir or root / "outbound"
        if self.inbound_dir is None or self.outbound_dir is None:
            raise ValueError("give base_url, or both inbound_dir and outbound_dir")
        home = root or self.inbound_dir
        self.processing_dir = self.processing_dir or home / "processing"
        self.processed_dir = self.processed_dir or home / "processed"
        self.failed_dir = self.failed_dir or home / "failed"
        return self

    @property
    def folders(self) -> Folders:
        """The resolved folders."""
        return Folders(
            _set(self.inbound_dir),
            _set(self.outbound_dir),
            _set(self.processing_dir),
            _set(self.processed_dir),
            _set(self.failed_dir),
        )


def _set(path: Path | None) -> Path:
    if path is None:  # the validator fills every folder in
        raise RuntimeError("folder not resolved")
    return path


@dataclass(frozen=True)
class Folders:
    """The folders of one drop, resolved."""

    inbound: Path
    outbound: Path
    processing: Path
    processed: Path
    failed: Path
