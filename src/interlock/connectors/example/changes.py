"""Where a change feed stands: the ``updated_at`` and ``id`` of the last change delivered.

The API lists records in (``updated_at``, ``id``) order, so that pair is a total order and a
position in it is a cursor that survives restarts. It is ours, not the API's ``next_cursor``:
that one only walks the pages of one listing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interlock.connectors.http import expect
from interlock.exceptions import ConfigError


def parse_stamp(value: str) -> dt.datetime:
    """An ISO 8601 timestamp as an aware datetime (naive ones are UTC)."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, order=True)
class Position:
    """A point in the change order; positions compare like the API orders records."""

    updated_at: dt.datetime
    record_id: str

    @classmethod
    def of(cls, system: str, record: Mapping[str, Any]) -> Position:
        """The position of a record the API sent."""
        stamp, record_id = record.get("updated_at"), record.get("id")
        expect(system, isinstance(stamp, str) and bool(record_id), "record without id/updated_at")
        try:
            return cls(parse_stamp(str(stamp)), str(record_id))
        except ValueError:
            expect(system, False, f"updated_at {stamp!r} is not ISO 8601")
            raise

    def encode(self) -> str:
        """The cursor string: ``<updated_at>|<id>``."""
        return f"{self.updated_at.isoformat()}|{self.record_id}"

    @classmethod
    def decode(cls, system: str, cursor: str) -> Position:
        """Read a cursor made by ``encode``."""
        stamp, _, record_id = cursor.partition("|")
        try:
            return cls(parse_stamp(stamp), record_id)
        except ValueError:
            raise ConfigError(
                f"{system} change cursor", cursor, "expected '<ISO 8601 time>|<record id>'"
            ) from None
