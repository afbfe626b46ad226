"""The connector interface every external system implements.

A connector speaks one vendor's wire format and maps to and from the canonical model. Flows
never see vendor shapes: they call ``upsert(kind, record, refs)`` with a canonical record and
get the native id back, and ingestion calls ``read_changes(kind, cursor)``.

Idempotency is the connector's duty: ``upsert`` must be safe to call again with the same
canonical record (upsert by external id, or look-up before create), because the engine
re-runs a step whose outcome it did not record.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel


@dataclass(frozen=True)
class NativeChange:
    """One changed record as the source system sent it.

    Attributes:
        kind: Canonical contract name (``opportunity``, ``project``...).
        native_id: The record's id in the source system.
        version: The source's modification stamp; with ``native_id`` it deduplicates deliveries.
        changed_at: When the source changed the record.
        payload: The native record (with any related records the mapping needs), kept verbatim.
        deleted: The record was deleted in the source.
    """

    kind: str
    native_id: str
    version: str
    changed_at: dt.datetime
    payload: dict[str, Any]
    deleted: bool = False


@dataclass(frozen=True)
class ChangePage:
    """A page of changes and the cursor to read the next page from."""

    changes: list[NativeChange]
    cursor: str | None
    more: bool = False


@dataclass(frozen=True)
class UpsertResult:
    """Outcome of an idempotent write.

    Attributes:
        native_id: Id of the record in the target system.
        created: True when this call created it, False when it existed and was updated.
        children: Canonical id → native id of records written with it (tasks of a project).
    """

    native_id: str
    created: bool
    children: Mapping[str, str] = field(default_factory=dict)


class Connector(ABC):
    """Base class of connectors. One instance per connected system in the topology.

    Subclasses set ``type`` (the topology's connector type) and ``kinds`` (the canonical
    contracts they read or write), and take their pydantic config model in ``__init__``.
    """

    type: ClassVar[str]
    kinds: ClassVar[frozenset[str]]

    def __init__(self, system: str) -> None:
        self.system = system

    def authenticate(self) -> None:  # noqa: B027 - optional hook
        """Obtain credentials now instead of on first use. Raises AuthenticationFailed."""

    def classify(self, change: NativeChange) -> str:
        """The event verb for a change.

        ``changed`` or ``deleted``, or a business verb the vendor's data makes plain (a CRM
        says ``won`` for an opportunity reaching Closed Won).
        """
        return "deleted" if change.deleted else "changed"

    def is_own_change(self, change: NativeChange) -> bool:
        """True when ``change`` only echoes a write the hub itself made (dropped on ingest).

        Connectors whose vendor marks the origin of a change (Salesforce ``changeOrigin``)
        override this.
        """
        return False

    def fingerprint(self, kind: str, record: BaseModel) -> str | None:
        """A digest of what we write for ``record``, comparable with ``change_fingerprint``.

        None (the default) means the connector cannot tell its echoes by content.
        """
        return None

    def change_fingerprint(self, change: NativeChange) -> str | None:
        """The digest of an inbound change, comparable with ``fingerprint``."""
        return None

    def related(self, change: NativeChange, kind: str) -> NativeChange | None:
        """A related record of ``kind`` that travelled with ``change``, as a change of its own.

        For example an opportunity's account. None when the payload has none.
        """
        return None

    def read_changes(self, kind: str, cursor: str | None, limit: int = 200) -> ChangePage:
        """Changes of ``kind`` after ``cursor`` (None: from the beginning), oldest first."""
        raise NotImplementedError(f"{self.type} does not read {kind} changes")

    def to_canonical(self, change: NativeChange) -> BaseModel:
        """Map a native change to its canonical record. Raises ContractViolation on bad data."""
        raise NotImplementedError(f"{self.type} does not map {change.kind}")

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        """Create or update ``record`` idempotently, keyed by its canonical id.

        Args:
            kind: Canonical contract name of ``record``.
            record: The canonical record; its ``id`` is the external id in the target.
            refs: Native ids in this system of records it refers to (``{"customer": "42"}``).
        """
        raise NotImplementedError(f"{self.type} does not write {kind}")

    def get(self, kind: str, native_id: str) -> NativeChange:
        """The current state of one record, as a change (for look-ups and reconciliation).

        Raises RecordNotFound when it does not exist.
        """
        raise NotImplementedError(f"{self.type} cannot read {kind} by id")

    def upsert_many(
        self, kind: str, items: Sequence[tuple[BaseModel, Mapping[str, str]]]
    ) -> list[UpsertResult]:
        """Upsert several records, in order; connectors override this with a batch API."""
        return [self.upsert(kind, record, refs) for record, refs in items]

    def find(self, kind: str, canonical_id: str) -> str | None:
        """Native id of the record we wrote for ``canonical_id``, or None."""
        raise NotImplementedError(f"{self.type} cannot look up {kind}")

    def flush(self) -> object:
        """Write out anything buffered (file-drop connectors batch their output)."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
