"""Cross-reference: which native id a canonical record has in each system."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from interlock.store import bulk
from interlock.store.journal import now
from interlock.store.schema import xref


def link(conn: sa.Connection, kind: str, canonical_id: str, system: str, native_id: str) -> None:
    """Record (or move) the native id of ``canonical_id`` in ``system``."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(xref).values(
        kind=kind,
        canonical_id=canonical_id,
        system=system,
        native_id=native_id,
        updated_at=now(),
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "canonical_id", "system"],
            set_={"native_id": native_id, "updated_at": now()},
        )
    )


def link_many(
    conn: sa.Connection, kind: str, system: str, pairs: Sequence[tuple[str, str]]
) -> None:
    """``link`` for many (canonical id, native id) pairs of one kind and system, at once."""
    latest = dict(pairs)  # one row per canonical id: a statement may not touch a row twice
    if not latest:
        return
    moment = now()
    rows = [
        {"kind": kind, "canonical_id": c, "system": system, "native_id": n, "updated_at": moment}
        for c, n in sorted(latest.items())
    ]
    if conn.dialect.name == "postgresql":
        bulk.pg_insert(
            conn,
            xref,
            rows,
            suffix="ON CONFLICT (kind, canonical_id, system) DO UPDATE SET "
            "native_id = EXCLUDED.native_id, updated_at = EXCLUDED.updated_at",
        )
        return
    stmt = sqlite.insert(xref)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "canonical_id", "system"],
            set_={"native_id": stmt.excluded.native_id, "updated_at": stmt.excluded.updated_at},
        ),
        rows,
    )


def native_id(conn: sa.Connection, kind: str, canonical_id: str, system: str) -> str | None:
    """Native id of a canonical record in ``system``, or None."""
    return conn.execute(
        sa.select(xref.c.native_id).where(
            xref.c.kind == kind, xref.c.canonical_id == canonical_id, xref.c.system == system
        )
    ).scalar_one_or_none()


def canonical_id(conn: sa.Connection, kind: str, system: str, native: str) -> str | None:
    """Canonical id of a native record, or None."""
    return conn.execute(
        sa.select(xref.c.canonical_id).where(
            xref.c.kind == kind, xref.c.system == system, xref.c.native_id == native
        )
    ).scalar_one_or_none()


def all_for(conn: sa.Connection, canonical_id: str) -> dict[str, str]:
    """Every native id of a canonical record: system → native id."""
    rows = conn.execute(
        sa.select(xref.c.system, xref.c.native_id).where(xref.c.canonical_id == canonical_id)
    )
    return {str(s): str(n) for s, n in rows}
