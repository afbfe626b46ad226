"""Initial schema: journal, flow runs and steps, cross-reference, records, cursors, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from interlock.store.schema import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "journal",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("dedup_key", sa.String(400), nullable=False),
        sa.Column("type", sa.String(120), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(120), nullable=True),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(80), nullable=True),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("envelope", Json, nullable=False),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_journal"),
        sa.UniqueConstraint("dedup_key", name="uq_journal_dedup_key"),
    )
    op.create_index("ix_journal_status_id", "journal", ["status", "id"])
    op.create_index("ix_journal_subject_id", "journal", ["subject", "id"])
    op.create_table(
        "flow_runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("flow", sa.String(60), nullable=False),
        sa.Column("business_key", sa.String(120), nullable=False),
        sa.Column("journal_id", BigId, nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(80), nullable=True),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", Json, nullable=True),
        sa.Column("metrics", Json, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_flow_runs"),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["journal.id"], name="fk_flow_runs_journal_id_journal"
        ),
        sa.UniqueConstraint("flow", "business_key", name="uq_flow_runs_flow_business_key"),
    )
    op.create_index(
        "ix_flow_runs_status_next_attempt_at", "flow_runs", ["status", "next_attempt_at"]
    )
    op.create_table(
        "flow_steps",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("output", Json, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "name", name="pk_flow_steps"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["flow_runs.id"], name="fk_flow_steps_run_id_flow_runs"
        ),
    )
    op.create_table(
        "xref",
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("canonical_id", sa.String(64), nullable=False),
        sa.Column("system", sa.String(60), nullable=False),
        sa.Column("native_id", sa.String(120), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "canonical_id", "system", name="pk_xref"),
        sa.UniqueConstraint("kind", "system", "native_id", name="uq_xref_kind_system_native_id"),
    )
    op.create_table(
        "records",
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("canonical_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "canonical_id", name="pk_records"),
    )
    op.create_table(
        "cursors",
        sa.Column("system", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("cursor", sa.Text, nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("system", "kind", name="pk_cursors"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("subject", sa.String(160), nullable=False),
        sa.Column("details", Json, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])


def downgrade() -> None:
    for table in ("audit_log", "cursors", "records", "xref", "flow_steps", "flow_runs", "journal"):
        op.drop_table(table)
