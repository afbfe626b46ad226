"""Partial index of open journal entries by ordering key.

A claim checks, for each candidate, that no earlier entry with its key is still open. With only
the full (ordering_key, id) index that walks the key's whole finished history; this index holds
open entries only, so the check stays cheap however long the journal grows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OPEN = "status IN ('pending', 'claimed', 'dispatched', 'parked')"


def upgrade() -> None:
    op.create_index(
        "ix_journal_open_ordering_key_id",
        "journal",
        ["ordering_key", "id"],
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_journal_open_ordering_key_id", table_name="journal")
