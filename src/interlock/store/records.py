"""The canonical store: the hub's current copy of canonical records, versioned."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from interlock.store.journal import now
from interlock.store.schema import records


def put(conn: sa.Connection, kind: str, record: BaseModel) -> int:
    """Store ``record`` (by its ``id``); returns its new version. Unchanged data keeps it."""
    data = record.model_dump(mode="json")
    record_id = str(data["id"])
    row = conn.execute(
        sa.select(records.c.version, records.c.data).where(
            records.c.kind == kind, records.c.canonical_id == record_id
        )
    ).first()
    if row is None:
        conn.execute(
            sa.insert(records).values(
                kind=kind, canonical_id=record_id, version=1, data=data, updated_at=now()
            )
        )
        return 1
    if row.data == data:
        return int(row.version)
    conn.execute(
        sa.update(records)
        .where(records.c.kind == kind, records.c.canonical_id == record_id)
        .values(version=row.version + 1, data=data, updated_at=now())
    )
    return int(row.version) + 1


def get(conn: sa.Connection, kind: str, record_id: str) -> dict[str, Any] | None:
    """The stored data of a record, or None."""
    return conn.execute(
        sa.select(records.c.data).where(records.c.kind == kind, records.c.canonical_id == record_id)
    ).scalar_one_or_none()


def of_kind(conn: sa.Connection, kind: str) -> list[dict[str, Any]]:
    """Every stored record of ``kind``."""
    return [
        row[0]
        for row in conn.execute(
            sa.select(records.c.data).where(records.c.kind == kind).order_by(records.c.canonical_id)
        )
    ]
