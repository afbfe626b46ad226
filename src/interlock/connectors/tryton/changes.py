"""Reading changed records by polling ``last_modified_at``, and deletes by diffing ids.

Tryton has no change feed and no tombstones. ``last_modified_at`` (write date, or create
date when never written) can be searched and ordered on, but on PostgreSQL it is the
start of the writing transaction, so a long transaction can commit a stamp older than one
already read. Each read therefore starts ``overlap`` seconds before the newest stamp seen,
and the cursor remembers which (id, stamp) pairs of that window were already delivered,
so they are not delivered twice.

Deletes: when a read has caught up, the ids of the model are compared with the ids known
from the previous read; the missing ones are returned as deleted changes. The known ids
travel in the cursor, per record type, as compact ranges (``1-40,42``).

The cursor is JSON: ``{"v": 1, "high": stamp, "seen": {id: stamp}, "known": {type: ranges}}``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from interlock.connectors.tryton import wire


def compact(ids: Iterable[int]) -> str:
    """``1-3,7`` for {1, 2, 3, 7}."""
    parts: list[str] = []
    run: list[int] = []
    for i in sorted(set(ids)):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [i]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)


def expand(ranges: str) -> set[int]:
    """The ids of ``compact`` ranges."""
    ids: set[int] = set()
    for part in filter(None, ranges.split(",")):
        low, _, high = part.partition("-")
        ids.update(range(int(low), int(high or low) + 1))
    return ids


@dataclass
class Cursor:
    """Where a change reader stands."""

    high: dt.datetime | None = None
    seen: dict[int, str] = field(default_factory=dict)
    known: dict[str, set[int]] | None = None

    @classmethod
    def load(cls, text: str | None) -> Cursor:
        """Parse a cursor; ValueError when it is not a Tryton change cursor."""
        if not text:
            return cls()
        try:
            data = orjson.loads(text)
            high = dt.datetime.fromisoformat(data["high"]) if data.get("high") else None
            seen = {int(k): str(v) for k, v in data.get("seen", {}).items()}
            known = (
                {str(k): expand(v) for k, v in data["known"].items()}
                if data.get("known") is not None
                else None
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"not a Tryton change cursor: {text[:40]!r}") from exc
        if data.get("v") != 1 or (high is not None and high.tzinfo is None):
            raise ValueError(f"not a Tryton change cursor: {text[:40]!r}")
        return cls(high, seen, known)

    def dump(self) -> str:
        """The cursor as text."""
        data = {
            "v": 1,
            "high": self.high.isoformat() if self.high else None,
            "seen": {str(k): v for k, v in sorted(self.seen.items())},
            "known": (
                {k: compact(v) for k, v in sorted(self.known.items())}
                if self.known is not None
                else None
            ),
        }
        return orjson.dumps(data).decode()


def stamp(row: dict[str, Any]) -> dt.datetime:
    """The decoded ``last_modified_at`` of a raw (wire format) row."""
    value = wire.decode(row["last_modified_at"])
    if not isinstance(value, dt.datetime):
        raise ValueError("last_modified_at is not a datetime")
    return value


def version(row: dict[str, Any]) -> str:
    """Modification stamp plus a digest of the row: equal rows get equal versions."""
    digest = hashlib.sha256(orjson.dumps(row, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{stamp(row).isoformat()}#{digest[:16]}"


def since(cursor: Cursor, overlap: float) -> dt.datetime | None:
    """The stamp a read starts from."""
    return cursor.high - dt.timedelta(seconds=overlap) if cursor.high else None


def fresh(cursor: Cursor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows not delivered yet (a row changed again counts as new)."""
    return [r for r in rows if cursor.seen.get(int(r["id"])) != stamp(r).isoformat()]


def advance(cursor: Cursor, delivered: list[dict[str, Any]], overlap: float) -> None:
    """Record ``delivered`` in the cursor and forget stamps older than the window."""
    for row in delivered:
        when = stamp(row)
        cursor.seen[int(row["id"])] = when.isoformat()
        cursor.high = max(cursor.high or when, when)
    start = since(cursor, overlap)
    if start is not None:
        cursor.seen = {
            k: v for k, v in cursor.seen.items() if dt.datetime.fromisoformat(v) >= start
        }
