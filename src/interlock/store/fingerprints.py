"""Fingerprints of the hub's own writes, so their echoes are recognised and dropped."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from interlock.store import bulk
from interlock.store.journal import now
from interlock.store.schema import fingerprints


def remember(conn: sa.Connection, system: str, kind: str, native_id: str, fingerprint: str) -> None:
    """Record that the hub wrote a record of this content."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(fingerprints)
        .values(
            system=system, kind=kind, native_id=native_id, fingerprint=fingerprint, created_at=now()
        )
        .on_conflict_do_nothing()
    )


def remember_many(
    conn: sa.Connection, system: str, kind: str, items: Sequence[tuple[str, str]]
) -> None:
    """``remember`` for many (native id, fingerprint) pairs of one system and kind."""
    if not items:
        return
    moment = now()
    rows = [
        {"system": system, "kind": kind, "native_id": n, "fingerprint": f, "created_at": moment}
        for n, f in sorted(set(items))
    ]
    if conn.dialect.name == "postgresql":
        bulk.pg_insert(conn, fingerprints, rows, suffix="ON CONFLICT DO NOTHING")
        return
    conn.execute(sqlite.insert(fingerprints).on_conflict_do_nothing(), rows)


def is_known(conn: sa.Connection, system: str, kind: str, native_id: str, fingerprint: str) -> bool:
    """True when the hub wrote exactly this content to this record."""
    found = conn.execute(
        sa.select(fingerprints.c.fingerprint).where(
            fingerprints.c.system == system,
            fingerprints.c.kind == kind,
            fingerprints.c.native_id == native_id,
            fingerprints.c.fingerprint == fingerprint,
        )
    ).first()
    return found is not None
