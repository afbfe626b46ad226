"""Replay: re-run journaled events by filter. Idempotent: what succeeded creates nothing new."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from interlock.connectors.base import Connector
from interlock.engine.flow import Flow
from interlock.events import CloudEvent
from interlock.store import Store, audit, journal, runs
from interlock.store.schema import journal as journal_table


@dataclass(frozen=True)
class ReplayFilter:
    """Which journaled events to replay. Unset fields match everything."""

    type: str | None = None
    subject: str | None = None
    source: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class ReplayItem:
    """One event and what replaying it does."""

    journal_id: int
    type: str
    subject: str | None
    plan: str


def _select(conn: sa.Connection, where: ReplayFilter, limit: int) -> list[Any]:
    table = journal_table
    stmt = (
        sa.select(table.c.id, table.c.envelope)
        .where(table.c.status.not_in(journal.Status.OPEN))
        .order_by(table.c.id)
        .limit(limit)
    )
    if where.type is not None:
        stmt = stmt.where(table.c.type == where.type)
    if where.subject is not None:
        stmt = stmt.where(table.c.subject == where.subject)
    if where.source is not None:
        stmt = stmt.where(table.c.source.in_([where.source, f"/systems/{where.source}"]))
    if where.since is not None:
        stmt = stmt.where(table.c.received_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(table.c.received_at < where.until)
    return list(conn.execute(stmt).all())


def _plan(
    conn: sa.Connection,
    event: CloudEvent,
    flows: Sequence[Flow],
    systems: Mapping[str, Connector],
    roles: Mapping[str, str],
) -> str:
    plans = []
    for flow in flows:
        if event.type not in flow.triggers:
            continue
        decision = flow.decide(event, conn, systems, roles)
        if decision.key is None:
            plans.append(f"{flow.name}: ignored ({decision.reason})")
            continue
        existing = runs.find(conn, flow.name, decision.key)
        if existing is None:
            plans.append(f"{flow.name}: would start a run")
        elif existing["status"] == runs.RunStatus.REJECTED:
            plans.append(f"{flow.name}: would restart rejected run {existing['id']}")
        else:
            plans.append(
                f"{flow.name}: nothing to do, run {existing['id']} is {existing['status']}"
            )
    return "; ".join(plans) or "no flow wants this event"


def replay(
    store: Store,
    where: ReplayFilter,
    flows: Sequence[Flow],
    systems: Mapping[str, Connector],
    roles: Mapping[str, str],
    *,
    actor: str,
    dry_run: bool = False,
    limit: int = 10_000,
) -> list[ReplayItem]:
    """Send matching finished events through dispatch again (or, dry, say what would happen)."""
    with store.transaction("replaying events") as conn:
        items = []
        for row in _select(conn, where, limit):
            event = CloudEvent.model_validate(row.envelope)
            items.append(
                ReplayItem(
                    int(row.id),
                    event.type,
                    event.subject,
                    _plan(conn, event, flows, systems, roles),
                )
            )
        if not dry_run and items:
            ids = [item.journal_id for item in items]
            conn.execute(
                sa.update(journal_table)
                .where(journal_table.c.id.in_(ids))
                .values(status=journal.Status.PENDING, lease_until=None)
            )
            conn.execute(
                sa.delete(journal_table.metadata.tables["applied"]).where(
                    journal_table.metadata.tables["applied"].c.journal_id.in_(ids)
                )
            )
            audit.record(
                conn,
                actor,
                "journal.replay",
                "journal",
                {
                    "filter": {k: str(v) for k, v in where.__dict__.items() if v is not None},
                    "events": len(ids),
                },
            )
    return items
