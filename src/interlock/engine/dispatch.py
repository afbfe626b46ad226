"""Dispatch: one claimed journal entry → stale check → holds → runs started, in key order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from interlock.connectors.base import Connector
from interlock.engine.flow import Decision, Flow
from interlock.store import counters, holds, journal, runs
from interlock.store.schema import applied


def _stale_against(conn: sa.Connection, entry: journal.Entry) -> str | None:
    subject = entry.event.subject
    if subject is None:
        return None
    newest = conn.execute(
        sa.select(applied.c.event_time, applied.c.journal_id).where(
            applied.c.ordering_key == subject
        )
    ).first()
    if newest is not None and entry.event.time < newest.event_time:
        return (
            f"stale: changed at {entry.event.time.isoformat()}, older than the change "
            f"already applied (journal {newest.journal_id}, {newest.event_time.isoformat()})"
        )
    return None


def _mark_applied(conn: sa.Connection, entry: journal.Entry) -> None:
    if entry.event.subject is None:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(applied).values(
        ordering_key=entry.event.subject, event_time=entry.event.time, journal_id=entry.id
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["ordering_key"],
            set_={"event_time": stmt.excluded.event_time, "journal_id": stmt.excluded.journal_id},
            where=applied.c.event_time <= stmt.excluded.event_time,
        )
    )


def _start(conn: sa.Connection, flow: Flow, entry: journal.Entry, key: str) -> tuple[str, bool]:
    existing = runs.find(conn, flow.name, key)
    if existing is None:
        run_id = runs.start(conn, flow.name, key, entry.id, entry.event.correlationid)
        return f"{flow.name}: run {run_id} started", True
    if existing["status"] == runs.RunStatus.REJECTED:
        runs.restart(conn, existing["id"], entry.id)
        return f"{flow.name}: rejected run {existing['id']} restarted with newer data", True
    return f"{flow.name}: duplicate, run {existing['id']} is {existing['status']}", False


def dispatch_entry(
    conn: sa.Connection,
    entry: journal.Entry,
    flows: Sequence[Flow],
    systems: Mapping[str, Connector],
    roles: Mapping[str, str],
) -> str:
    """Decide what one entry does, in the caller's transaction. Returns its new status."""
    stale = _stale_against(conn, entry)
    if stale is not None:
        journal.finish(conn, entry.id, journal.Status.STALE, stale)
        counters.add(conn, "stale_events")
        return journal.Status.STALE
    decisions: list[tuple[Flow, Decision]] = [
        (flow, flow.decide(entry.event, conn, systems, roles))
        for flow in flows
        if entry.event.type in flow.triggers
    ]
    for flow, decision in decisions:
        if decision.key is None:
            continue
        hold = holds.blocking(conn, flow.hold_keys(entry.event, decision.key, systems), flow.name)
        if hold is not None:
            journal.park(
                conn,
                entry.id,
                int(hold["id"]),
                f"{flow.name}: parked behind hold {hold['id']} on {hold['key']}: {hold['reason']}",
            )
            return journal.Status.PARKED
    outcomes, started = [], False
    for flow, decision in decisions:
        if decision.key is None:
            outcomes.append(f"{flow.name}: ignored ({decision.reason})")
            continue
        outcome, began = _start(conn, flow, entry, decision.key)
        outcomes.append(outcome)
        started = started or began
    status = (
        journal.Status.DISPATCHED
        if started
        else journal.Status.DONE
        if decisions
        else journal.Status.IGNORED
    )
    journal.finish(conn, entry.id, status, "; ".join(outcomes) or "no flow wants this event")
    _mark_applied(conn, entry)
    return status
