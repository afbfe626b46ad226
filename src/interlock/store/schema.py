"""The declared schema. Alembic migrations must produce exactly this (a test checks it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:  # noqa: D102
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware datetimes")
        converted = value.astimezone(dt.UTC)
        return converted.replace(tzinfo=None) if dialect.name == "sqlite" else converted

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:  # noqa: D102
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Stamp = UtcDateTime()


def as_dict(row: Any) -> dict[str, Any]:
    """A result row as a plain dict with plain ``str`` keys (drivers hand out subclasses)."""
    return {str(key): value for key, value in row._mapping.items()}


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

OPEN_ENTRIES = "status IN ('pending', 'claimed', 'dispatched', 'parked')"
"""Journal entries not yet final (``journal.Status.OPEN``), as the partial index predicate."""

journal = sa.Table(
    "journal",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("dedup_key", sa.String(400), nullable=False, unique=True),
    sa.Column("type", sa.String(120), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(120), nullable=True),
    sa.Column("correlation_id", sa.String(64), nullable=True),
    sa.Column("received_at", Stamp, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("claimed_by", sa.String(80), nullable=True),
    sa.Column("lease_until", Stamp, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("envelope", Json, nullable=False),
    sa.Column("outcome", sa.Text, nullable=True),
    sa.Column("ordering_key", sa.String(120), nullable=True),
    sa.Column("event_time", Stamp, nullable=True),
    sa.Column("hold_id", BigId, nullable=True),
    sa.Index(None, "status", "id"),
    sa.Index(None, "ordering_key", "id"),
    sa.Index(None, "subject", "id"),
    sa.Index(
        "ix_journal_open_ordering_key_id",
        "ordering_key",
        "id",
        postgresql_where=sa.text(OPEN_ENTRIES),
        sqlite_where=sa.text(OPEN_ENTRIES),
    ),
)
"""Every inbound change exactly once (``dedup_key``), with its original payload verbatim."""

flow_runs = sa.Table(
    "flow_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("flow", sa.String(60), nullable=False),
    sa.Column("business_key", sa.String(120), nullable=False),
    sa.Column(
        "journal_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("journal.id"),
        nullable=False,
    ),
    sa.Column("correlation_id", sa.String(64), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("finished_at", Stamp, nullable=True),
    sa.Column("next_attempt_at", Stamp, nullable=False),
    sa.Column("lease_owner", sa.String(80), nullable=True),
    sa.Column("lease_until", Stamp, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", Json, nullable=True),
    sa.Column("metrics", Json, nullable=True),
    sa.Column("payload_override", Json, nullable=True),
    sa.UniqueConstraint("flow", "business_key"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "journal_id"),
)
"""One durable run of a flow per business key (at most one project per opportunity)."""

flow_steps = sa.Table(
    "flow_steps",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("flow_runs.id"), primary_key=True),
    sa.Column("name", sa.String(60), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("output", Json, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("finished_at", Stamp, nullable=False),
)
"""Each step's outcome, stored before the next step starts."""

xref = sa.Table(
    "xref",
    metadata,
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("canonical_id", sa.String(64), primary_key=True),
    sa.Column("system", sa.String(60), primary_key=True),
    sa.Column("native_id", sa.String(120), nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.UniqueConstraint("kind", "system", "native_id"),
)
"""Cross-reference: a canonical record's native id in every system."""

records = sa.Table(
    "records",
    metadata,
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("canonical_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
)
"""The canonical store: the hub's current view of canonical records."""

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("system", sa.String(60), primary_key=True),
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("cursor", sa.Text, nullable=True),
    sa.Column("updated_at", Stamp, nullable=False),
)
"""Change-detection position per system and kind."""

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("subject", sa.String(160), nullable=False),
    sa.Column("details", Json, nullable=True),
    sa.Index(None, "subject"),
)
"""Who did what to which subject, when."""


exceptions = sa.Table(
    "exceptions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("flow_runs.id"), nullable=False),
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
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("closed_by", sa.String(120), nullable=True),
    sa.Index(None, "status", "team"),
    sa.Index(None, "run_id"),
)
"""Work that failed finally, routed to the team that must act, with its actions' history."""

holds = sa.Table(
    "holds",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(120), nullable=False),
    sa.Column("flows", Json, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("exception_id", BigId, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("released_at", Stamp, nullable=True),
    sa.Column("released_by", sa.String(120), nullable=True),
    sa.Index(None, "key", "status"),
)
"""A business key whose dependent flows are blocked until a failure is resolved."""

applied = sa.Table(
    "applied",
    metadata,
    sa.Column("ordering_key", sa.String(120), primary_key=True),
    sa.Column("event_time", Stamp, nullable=False),
    sa.Column("journal_id", BigId, nullable=False),
)
"""The newest event applied per ordering key; older ones arriving later are stale."""

fingerprints = sa.Table(
    "fingerprints",
    metadata,
    sa.Column("system", sa.String(60), primary_key=True),
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("native_id", sa.String(120), primary_key=True),
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("created_at", Stamp, nullable=False),
)
"""What the hub wrote: an inbound change with a known fingerprint is our own echo."""

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("msg_id", sa.String(64), nullable=False, unique=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("type", sa.String(120), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("published_at", Stamp, nullable=True),
    sa.Index(None, "published_at", "id"),
)
"""Canonical events to publish, written in the same transaction as the change they announce."""

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
"""Business counters (echoes dropped, stale events, ...)."""


# Quota budgets shared by every worker (interlock.quota). Times are epoch seconds.
quota_state = sa.Table(
    "quota_state",
    metadata,
    sa.Column("system", sa.String(200), primary_key=True),
    sa.Column("paused_until", sa.Float, nullable=False, server_default="0"),
    sa.Column("learned_limit", sa.Integer, nullable=True),
    sa.Column("learned_used", sa.Integer, nullable=False, server_default="0"),
    sa.Column("learned_foreign", sa.Integer, nullable=False, server_default="0"),
    sa.Column("learned_reset_at", sa.Float, nullable=True),
    sa.Column("learned_stale_at", sa.Float, nullable=True),
    sa.Column("learned_probe_at", sa.Float, nullable=True),
)
"""One row per system: the pause asked by the vendor and the quota its headers reported."""

quota_slots = sa.Table(
    "quota_slots",
    metadata,
    sa.Column("system", sa.String(200), primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True),
    sa.Column("holder", sa.String(120), nullable=True),
    sa.Column("lease_until", sa.Float, nullable=True),
)
"""Concurrency slots 0..max-1 of a system; a slot whose lease ran out is free again."""

quota_windows = sa.Table(
    "quota_windows",
    metadata,
    sa.Column("system", sa.String(200), primary_key=True),
    sa.Column("window_name", sa.String(40), primary_key=True),
    sa.Column("window_start", sa.BigInteger, primary_key=True),
    sa.Column("used", sa.Integer, nullable=False, server_default="0"),
)
"""Requests per bucket (a slice of a window, start in epoch ms) of each rate window."""

quota_waiters = sa.Table(
    "quota_waiters",
    metadata,
    sa.Column("system", sa.String(200), primary_key=True),
    sa.Column("waiter", sa.String(120), primary_key=True),
    sa.Column("priority", sa.SmallInteger, nullable=False),
    sa.Column("is_write", sa.Boolean, nullable=False),
    sa.Column("since", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)
"""Requests waiting for a permit, so that lower priorities leave them room."""
