"""Dispatch: claimed journal entries → stale check → holds → runs started, in key order.

A batch is decided entry by entry, in journal order, against what the database held when the
batch was claimed plus what the entries before it in the batch decided; the reads (applied
times, holds, existing runs) and the writes (new runs, outcomes, applied times) are each one
statement per batch, not per entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from interlock.connectors.base import Connector
from interlock.engine.flow import Decision, Flow
from interlock.store import bulk, counters, holds, journal, runs
from interlock.store.schema import applied


@dataclass(frozen=True)
class Fresh:
    """A run decided but not yet stored: the worker runs its first step, then stores it.

    Its journal entry stays claimed (leased to this worker) meanwhile; if the worker dies, the
    lease runs out and the entry is dispatched again, exactly as a stored run's unrecorded step
    would be run again. ``outcome`` is the entry's outcome text.
    """

    run_id: str
    flow: Flow
    key: str
    entry: journal.Entry
    outcome: str


@dataclass
class _Batch:
    """What the batch has read and decided so far."""

    applied: dict[str, tuple[dt.datetime, int]]
    existing: dict[tuple[str, str], dict[str, Any]]
    held_keys: set[str]
    outcomes: list[tuple[int, str, str]] = field(default_factory=list)
    starts: list[tuple[str, str, str, int, str | None]] = field(default_factory=list)
    marks: dict[str, tuple[dt.datetime, int]] = field(default_factory=dict)
    stale: int = 0
    defer: bool = False
    fresh: list[Fresh] = field(default_factory=list)


def _read_applied(conn: sa.Connection, subjects: set[str]) -> dict[str, tuple[dt.datetime, int]]:
    found: dict[str, tuple[dt.datetime, int]] = {}
    ordered = sorted(subjects)
    for start in range(0, len(ordered), 500):
        rows = conn.execute(
            sa.select(applied.c.ordering_key, applied.c.event_time, applied.c.journal_id).where(
                bulk.member_of(applied.c.ordering_key, ordered[start : start + 500], conn)
            )
        )
        for row in rows:
            found[row.ordering_key] = (_utc(row.event_time), int(row.journal_id))
    return found


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _write_applied(conn: sa.Connection, marks: Mapping[str, tuple[dt.datetime, int]]) -> None:
    if not marks:
        return
    rows = [
        {"ordering_key": key, "event_time": moment, "journal_id": journal_id}
        for key, (moment, journal_id) in sorted(marks.items())
    ]
    if conn.dialect.name == "postgresql":
        bulk.pg_insert(
            conn,
            applied,
            rows,
            suffix="ON CONFLICT (ordering_key) DO UPDATE SET event_time = EXCLUDED.event_time, "
            "journal_id = EXCLUDED.journal_id WHERE applied.event_time <= EXCLUDED.event_time",
        )
        return
    stmt = sqlite.insert(applied).values(
        ordering_key=sa.bindparam("b_key"),
        event_time=sa.bindparam("b_time"),
        journal_id=sa.bindparam("b_journal"),
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["ordering_key"],
            set_={"event_time": stmt.excluded.event_time, "journal_id": stmt.excluded.journal_id},
            where=applied.c.event_time <= stmt.excluded.event_time,
        ),
        [
            {"b_key": r["ordering_key"], "b_time": r["event_time"], "b_journal": r["journal_id"]}
            for r in rows
        ],
    )


def _stale(batch: _Batch, entry: journal.Entry) -> str | None:
    subject = entry.event.subject
    newest = None if subject is None else batch.applied.get(subject)
    if newest is not None and entry.event.time < newest[0]:
        return (
            f"stale: changed at {entry.event.time.isoformat()}, older than the change "
            f"already applied (journal {newest[1]}, {newest[0].isoformat()})"
        )
    return None


def _start(
    batch: _Batch, conn: sa.Connection, flow: Flow, entry: journal.Entry, key: str
) -> tuple[str, bool]:
    existing = batch.existing.get((flow.name, key))
    if existing is None:
        run_id = runs.new_id()
        batch.starts.append((run_id, flow.name, key, entry.id, entry.event.correlationid))
        batch.existing[(flow.name, key)] = {"id": run_id, "status": runs.RunStatus.RUNNING}
        return f"{flow.name}: run started", True  # the run names its journal entry
    if existing["status"] == runs.RunStatus.REJECTED:
        runs.restart(conn, existing["id"], entry.id)
        existing["status"] = runs.RunStatus.RUNNING
        return f"{flow.name}: rejected run {existing['id']} restarted with newer data", True
    return f"{flow.name}: duplicate, run {existing['id']} is {existing['status']}", False


def _decide_one(
    conn: sa.Connection,
    batch: _Batch,
    entry: journal.Entry,
    decisions: Sequence[tuple[Flow, Decision, list[str]]],
) -> None:
    for flow, decision, hold_keys in decisions:
        if decision.key is None or not batch.held_keys.intersection(hold_keys):
            continue
        hold = holds.blocking(conn, hold_keys, flow.name)
        if hold is not None:
            journal.park(
                conn,
                entry.id,
                int(hold["id"]),
                f"{flow.name}: parked behind hold {hold['id']} on {hold['key']}: {hold['reason']}",
            )
            return
    outcomes, started, restarted, starts_before = [], False, False, len(batch.starts)
    for flow, decision, _ in decisions:
        if decision.key is None:
            outcomes.append(f"{flow.name}: ignored ({decision.reason})")
            continue
        before = len(batch.starts)
        outcome, began = _start(batch, conn, flow, entry, decision.key)
        outcomes.append(outcome)
        started = started or began
        restarted = restarted or (began and len(batch.starts) == before)
    new = batch.starts[starts_before:]
    if batch.defer and new and not restarted:
        # Only new runs: hand them to the worker unstored (see ``Fresh``).
        del batch.starts[starts_before:]
        text = "; ".join(outcomes)
        by_name = {flow.name: flow for flow, _, _ in decisions}
        batch.fresh.extend(
            Fresh(rid, by_name[name], key, entry, text) for rid, name, key, _, _ in new
        )
        _mark(batch, entry)
        return
    status = (
        journal.Status.DISPATCHED
        if started
        else journal.Status.DONE
        if decisions
        else journal.Status.IGNORED
    )
    batch.outcomes.append((entry.id, status, "; ".join(outcomes) or "no flow wants this event"))
    _mark(batch, entry)


def _mark(batch: _Batch, entry: journal.Entry) -> None:
    subject = entry.event.subject
    if subject is not None:
        newest = batch.applied.get(subject)
        if newest is None or newest[0] <= entry.event.time:
            batch.applied[subject] = batch.marks[subject] = (entry.event.time, entry.id)


def dispatch_many(
    conn: sa.Connection,
    entries: Sequence[journal.Entry],
    flows: Sequence[Flow],
    systems: Mapping[str, Connector],
    roles: Mapping[str, str],
    *,
    defer: bool = False,
) -> list[Fresh]:
    """Decide what each claimed entry does, in the caller's transaction, in journal order.

    With ``defer``, entries that only start new runs stay claimed and their runs are returned
    unstored, for the worker to run at once (``Runner.execute_fresh``); otherwise runs are
    stored here and returned empty.
    """
    if not entries:
        return []
    decided: list[tuple[journal.Entry, list[tuple[Flow, Decision, list[str]]]]] = []
    for entry in entries:
        decisions = []
        for flow in flows:
            if not flow.wants(entry.event.type):
                continue
            decision = flow.decide(entry.event, conn, systems, roles)
            keys = (
                [] if decision.key is None else flow.hold_keys(entry.event, decision.key, systems)
            )
            decisions.append((flow, decision, keys))
        decided.append((entry, decisions))
    batch = _Batch(
        applied=_read_applied(conn, {e.event.subject for e in entries if e.event.subject}),
        existing=runs.find_many(
            conn,
            [(f.name, d.key) for _, ds in decided for f, d, _ in ds if d.key is not None],
        ),
        held_keys=holds.active_keys(conn, [k for _, ds in decided for _, _, ks in ds for k in ks]),
        defer=defer,
    )
    for entry, decisions in decided:
        stale = _stale(batch, entry)
        if stale is not None:
            batch.outcomes.append((entry.id, journal.Status.STALE, stale))
            batch.stale += 1
            continue
        _decide_one(conn, batch, entry, decisions)
    runs.start_many(conn, batch.starts)
    journal.finish_many(conn, batch.outcomes)
    _write_applied(conn, batch.marks)
    if batch.stale:
        counters.add(conn, "stale_events", batch.stale)
    return batch.fresh
