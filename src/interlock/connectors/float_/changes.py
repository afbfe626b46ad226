"""Change detection for Float: ``modified_since`` polling plus id scans for deletions.

Float has no webhooks and no feed of deleted records (vendor-apis.md §3.5). So:

- Each read lists the records modified since ``cursor time - overlap`` (as a date by
  default, the documented form; the rest of the day is filtered out here), drops the ones
  already delivered (same id and same content digest) and delivers the others oldest first.
  The version of a change is ``<modified>|<digest>``: Float's stamp has whole seconds, so two
  edits within a second still differ.
- Deletions are found by comparing ids: the cursor carries the ids known to exist (as
  compact ranges, ``90001-90250,90300``); every ``deletion_scan_seconds`` a read lists all ids
  (``fields=<id>`` only, 200 a page) and reports the known ones that are gone as deleted
  changes (version ``deleted``). Ids delivered since the last scan join the known set, so a
  record created and deleted between two scans is reported too.
- The cursor is JSON: ``{"after", "seen", "known", "scanned"}``. ``seen`` holds the records
  delivered within the overlap (id → [digest, modified]).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from interlock.connectors.base import ChangePage, NativeChange

Record = dict[str, Any]
Fetch = Callable[[str, Mapping[str, str]], list[Record]]
Keep = Callable[[Record], bool]
_STAMP = "%Y-%m-%d %H:%M:%S"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Stream:
    """A resource read as changes of one canonical kind."""

    kind: str
    path: str
    id_field: str
    scan_fields: str


def modified(record: Record) -> dt.datetime:
    """A record's ``modified`` stamp as an aware UTC time (epoch when absent)."""
    text = str(record.get("modified") or "")
    if not text:
        return _EPOCH
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def digest(record: Record) -> str:
    """A short digest of the record's content."""
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def ids_text(ids: Iterable[int]) -> str:
    """Ids as sorted ranges: ``1-3,7``."""
    parts: list[str] = []
    ordered = sorted(set(ids))
    start = prev = None
    for value in [*ordered, None]:
        if value is not None and prev is not None and value == prev + 1:
            prev = value
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = value
    return ",".join(parts)


def parse_ids(text: str) -> frozenset[int]:
    """The ids of ``ids_text``."""
    found: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return frozenset(found)


@dataclass(frozen=True)
class Cursor:
    """Where a reader of one stream stands (see the module notes)."""

    after: dt.datetime | None = None
    seen: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    known: frozenset[int] = frozenset()
    scanned: dt.datetime | None = None

    def encode(self) -> str:
        """The cursor as stored by the engine."""
        return orjson.dumps(
            {
                "after": self.after.strftime(_STAMP) if self.after else None,
                "seen": {k: list(v) for k, v in sorted(self.seen.items())},
                "known": ids_text(self.known),
                "scanned": self.scanned.isoformat() if self.scanned else None,
            }
        ).decode()

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        """Read a stored cursor; None or empty means from the beginning."""
        if not text:
            return cls()
        try:
            data = orjson.loads(text)
            scanned = data.get("scanned")
            return cls(
                after=modified({"modified": data["after"]}) if data.get("after") else None,
                seen={str(k): (str(v[0]), str(v[1])) for k, v in data.get("seen", {}).items()},
                known=parse_ids(str(data.get("known") or "")),
                scanned=dt.datetime.fromisoformat(scanned) if scanned else None,
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
            raise ValueError(f"not a Float change cursor: {text[:60]!r}") from None


class ChangeReader:
    """Reads one page of changes of a stream; I/O goes through ``fetch`` (all pages)."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        overlap: float,
        scan_every: float,
        date_only: bool,
        now: Callable[[], dt.datetime],
    ) -> None:
        self.fetch = fetch
        self.overlap = dt.timedelta(seconds=overlap)
        self.scan_every = scan_every
        self.date_only = date_only
        self.now = now

    def read(self, stream: Stream, text: str | None, limit: int, keep: Keep) -> ChangePage:
        """Deletions found by a due scan first, then modified records, ``limit`` in all."""
        cursor = Cursor.decode(text)
        now = self.now()
        current: frozenset[int] | None = None
        gone: list[int] = []
        if cursor.scanned is None or (now - cursor.scanned).total_seconds() >= self.scan_every:
            scan = self.fetch(stream.path, {"fields": stream.scan_fields})
            current = frozenset(int(r[stream.id_field]) for r in scan if keep(r))
            gone = sorted(cursor.known - current)
        fresh = self._fresh(stream, cursor, keep)
        deletes = gone[:limit]
        picked = fresh[: max(0, limit - len(deletes))]
        changes = [_deleted(stream, i, now) for i in deletes]
        changes += [change_of(stream, r) for r in picked]
        pending = set(gone[len(deletes) :])
        stamps = [modified(r) for r in picked] + ([cursor.after] if cursor.after else [])
        after = max(stamps) if stamps else None
        horizon = after - self.overlap if after else None
        seen = {**cursor.seen, **{str(r[stream.id_field]): _entry(r) for r in picked}}
        known = (current if current is not None else cursor.known) | pending
        moved = Cursor(
            after=after,
            seen={
                k: v
                for k, v in seen.items()
                if horizon is not None and modified({"modified": v[1]}) >= horizon
            },
            known=frozenset(known | {int(r[stream.id_field]) for r in picked}),
            scanned=None if pending else (now if current is not None else cursor.scanned),
        )
        more = bool(pending) or len(fresh) > len(picked)
        return ChangePage(changes=changes, cursor=moved.encode(), more=more)

    def _fresh(self, stream: Stream, cursor: Cursor, keep: Keep) -> list[Record]:
        params: dict[str, str] = {}
        horizon = cursor.after - self.overlap if cursor.after else None
        if horizon is not None:
            params["modified_since"] = (
                horizon.date().isoformat() if self.date_only else horizon.strftime(_STAMP)
            )
        records = [r for r in self.fetch(stream.path, params) if keep(r)]
        fresh = [
            r
            for r in records
            if (horizon is None or modified(r) >= horizon)
            and cursor.seen.get(str(r[stream.id_field]), ("",))[0] != digest(r)
        ]
        return sorted(fresh, key=lambda r: (modified(r), int(r[stream.id_field])))


def _entry(record: Record) -> tuple[str, str]:
    return digest(record), modified(record).strftime(_STAMP)


def change_of(stream: Stream, record: Record) -> NativeChange:
    """A record as a change of ``stream``; the version is ``<modified>|<digest>``."""
    when = modified(record)
    return NativeChange(
        kind=stream.kind,
        native_id=str(record[stream.id_field]),
        version=f"{when.strftime(_STAMP)}|{digest(record)}",
        changed_at=when,
        payload=record,
    )


def _deleted(stream: Stream, record_id: int, now: dt.datetime) -> NativeChange:
    return NativeChange(
        kind=stream.kind,
        native_id=str(record_id),
        version="deleted",
        changed_at=now,
        payload={stream.id_field: record_id},
        deleted=True,
    )
