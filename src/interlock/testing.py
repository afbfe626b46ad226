"""Test helpers that ship with Interlock, for users writing flows and connectors.

``InMemoryConnector`` is a complete connector over dicts: it can be a change source and an
idempotent target, counts every write, and fails on demand. Use it to test a flow without any
vendor; use the sandboxes to test against a vendor's wire format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel

from interlock.connectors.base import ChangePage, Connector, NativeChange, UpsertResult
from interlock.exceptions import InterlockError


def _digest(data: Any) -> str:
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


class InMemoryConnector(Connector):
    """A connector whose system is a dict in memory.

    Attributes:
        records: kind → canonical id → (native id, data) of records written through ``upsert``.
        writes: Every upsert call, in order: (kind, canonical id, created).
        fail_next: Errors to raise from the next ``upsert`` calls, in order.
    """

    type: ClassVar[str] = "memory"
    kinds: ClassVar[frozenset[str]] = frozenset({"*"})

    def __init__(self, system: str, mapper: Any = None) -> None:
        super().__init__(system)
        self._lock = threading.Lock()
        self.records: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}
        self.writes: list[tuple[str, str, bool]] = []
        self.fail_next: list[InterlockError] = []
        self._changes: list[NativeChange] = []
        self._mapper = mapper
        self._verbs: dict[str, str] = {}

    def emit(
        self,
        kind: str,
        native_id: str,
        version: int,
        payload: dict[str, Any],
        verb: str = "changed",
    ) -> None:
        """Make a change visible to ``read_changes``."""
        change = NativeChange(
            kind=kind,
            native_id=native_id,
            version=f"{version:012d}",
            changed_at=dt.datetime.now(dt.UTC),
            payload=payload,
        )
        with self._lock:
            self._changes.append(change)
            self._verbs[f"{native_id}:{change.version}"] = verb

    def classify(self, change: NativeChange) -> str:
        """The verb given to ``emit``."""
        return self._verbs.get(f"{change.native_id}:{change.version}", "changed")

    def related(self, change: NativeChange, kind: str) -> NativeChange | None:
        """The record under ``payload["related"][kind]``, as a change of its own."""
        record = change.payload.get("related", {}).get(kind)
        if not isinstance(record, dict):
            return None
        return NativeChange(
            kind=kind,
            native_id=str(record.get("id", "")),
            version=change.version,
            changed_at=change.changed_at,
            payload=record,
        )

    def read_changes(self, kind: str, cursor: str | None, limit: int = 200) -> ChangePage:
        """Changes of ``kind`` after position ``cursor`` in emission order."""
        position = int(cursor or 0)
        page: list[NativeChange] = []
        with self._lock:
            while position < len(self._changes) and len(page) < limit:
                if self._changes[position].kind == kind:
                    page.append(self._changes[position])
                position += 1
            more = any(c.kind == kind for c in self._changes[position:])
        return ChangePage(page, str(position), more)

    def to_canonical(self, change: NativeChange) -> BaseModel:
        """Delegate to the ``mapper`` given at construction."""
        if self._mapper is None:
            raise NotImplementedError("InMemoryConnector needs a mapper to map changes")
        result: BaseModel = self._mapper(change)
        return result

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        """Idempotent by the record's ``id``."""
        data = record.model_dump(mode="json")
        with self._lock:
            if self.fail_next:
                raise self.fail_next.pop(0)
            table = self.records.setdefault(kind, {})
            existing = table.get(data["id"])
            native = existing[0] if existing else f"{kind}-{sum(map(len, self.records.values()))}"
            table[data["id"]] = (native, data)
            self.writes.append((kind, data["id"], existing is None))
        children = {t["id"]: f"{native}/{t['id']}" for t in data.get("tasks", [])}
        return UpsertResult(native, existing is None, children)

    def fingerprint(self, kind: str, record: BaseModel) -> str | None:
        """Digest of the canonical record as written."""
        return _digest(record.model_dump(mode="json"))

    def change_fingerprint(self, change: NativeChange) -> str | None:
        """Digest of a change's payload: equal to ``fingerprint`` when it echoes our write."""
        return _digest(change.payload)

    def find(self, kind: str, canonical_id: str) -> str | None:
        """Native id written for ``canonical_id``."""
        with self._lock:
            found = self.records.get(kind, {}).get(canonical_id)
        return found[0] if found else None

    def close(self) -> None:
        """Nothing to release."""
