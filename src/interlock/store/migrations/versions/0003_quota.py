"""Quota budgets shared by every worker: pauses, concurrency slots, rate windows, waiters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_state",
        sa.Column("system", sa.String(200), nullable=False),
        sa.Column("paused_until", sa.Float, nullable=False, server_default="0"),
        sa.Column("learned_limit", sa.Integer, nullable=True),
        sa.Column("learned_used", sa.Integer, nullable=False, server_default="0"),
        sa.Column("learned_foreign", sa.Integer, nullable=False, server_default="0"),
        sa.Column("learned_reset_at", sa.Float, nullable=True),
        sa.Column("learned_stale_at", sa.Float, nullable=True),
        sa.Column("learned_probe_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("system", name="pk_quota_state"),
    )
    op.create_table(
        "quota_slots",
        sa.Column("system", sa.String(200), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("holder", sa.String(120), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("system", "slot", name="pk_quota_slots"),
    )
    op.create_table(
        "quota_windows",
        sa.Column("system", sa.String(200), nullable=False),
        sa.Column("window_name", sa.String(40), nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("used", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("system", "window_name", "window_start", name="pk_quota_windows"),
    )
    op.create_table(
        "quota_waiters",
        sa.Column("system", sa.String(200), nullable=False),
        sa.Column("waiter", sa.String(120), nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("is_write", sa.Boolean, nullable=False),
        sa.Column("since", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("system", "waiter", name="pk_quota_waiters"),
    )


def downgrade() -> None:
    for table in ("quota_waiters", "quota_windows", "quota_slots", "quota_state"):
        op.drop_table(table)
