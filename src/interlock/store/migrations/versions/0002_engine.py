"""Durable engine: ordering keys, exceptions, holds, stale detection, fingerprints, outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from interlock.store.schema import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.add_column(sa.Column("ordering_key", sa.String(120), nullable=True))
        batch.add_column(sa.Column("event_time", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("hold_id", BigId, nullable=True))
        batch.create_index("ix_journal_ordering_key_id", ["ordering_key", "id"])
    with op.batch_alter_table("flow_runs") as batch:
        batch.add_column(sa.Column("payload_override", Json, nullable=True))
    op.create_table(
        "exceptions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("flow", sa.String(60), nullable=False),
        sa.Column("business_key", sa.String(120), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("team", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", Json, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", Json, nullable=True),
        sa.Column("systems", Json, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("closed_by", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_exceptions"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["flow_runs.id"], name="fk_exceptions_run_id_flow_runs"
        ),
    )
    op.create_index("ix_exceptions_status_team", "exceptions", ["status", "team"])
    op.create_index("ix_exceptions_run_id", "exceptions", ["run_id"])
    op.create_table(
        "holds",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("flows", Json, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("exception_id", BigId, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("released_at", UtcDateTime(), nullable=True),
        sa.Column("released_by", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_holds"),
    )
    op.create_index("ix_holds_key_status", "holds", ["key", "status"])
    op.create_table(
        "applied",
        sa.Column("ordering_key", sa.String(120), nullable=False),
        sa.Column("event_time", UtcDateTime(), nullable=False),
        sa.Column("journal_id", BigId, nullable=False),
        sa.PrimaryKeyConstraint("ordering_key", name="pk_applied"),
    )
    op.create_table(
        "fingerprints",
        sa.Column("system", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("native_id", sa.String(120), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "system", "kind", "native_id", "fingerprint", name="pk_fingerprints"
        ),
    )
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("type", sa.String(120), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("msg_id", name="uq_outbox_msg_id"),
    )
    op.create_index("ix_outbox_published_at_id", "outbox", ["published_at", "id"])
    op.create_table(
        "counters",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )


def downgrade() -> None:
    for table in ("counters", "outbox", "fingerprints", "applied", "holds", "exceptions"):
        op.drop_table(table)
    with op.batch_alter_table("flow_runs") as batch:
        batch.drop_column("payload_override")
    with op.batch_alter_table("journal") as batch:
        batch.drop_index("ix_journal_ordering_key_id")
        batch.drop_column("hold_id")
        batch.drop_column("event_time")
        batch.drop_column("ordering_key")
