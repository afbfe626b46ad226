"""What people do with exceptions and holds: retry, edit and retry, skip, resolve, release.

Every action is audited: who, when, what, and the state before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from interlock.connectors.base import Connector
from interlock.engine.flow import Flow
from interlock.events import CloudEvent
from interlock.exceptions import InterlockError
from interlock.store import Store, audit, exception_queue, holds, runs
from interlock.store.exception_queue import State
from interlock.store.journal import now
from interlock.store.schema import flow_runs, flow_steps, journal


class ActionRefused(InterlockError):
    """The action does not apply to the exception or hold in its current state."""


def _load(conn: sa.Connection, exception_id: int) -> dict[str, Any]:
    found = exception_queue.get(conn, exception_id)
    if found is None:
        raise ActionRefused(f"exception {exception_id} does not exist")
    return found


def _active(conn: sa.Connection, exception_id: int) -> dict[str, Any]:
    found = _load(conn, exception_id)
    if found["status"] not in State.ACTIVE:
        raise ActionRefused(f"exception {exception_id} is {found['status']}; nothing to do")
    return found


def _rerun(conn: sa.Connection, run_id: str, *, from_start: bool) -> None:
    if from_start:
        conn.execute(sa.delete(flow_steps).where(flow_steps.c.run_id == run_id))
    conn.execute(
        sa.update(flow_runs)
        .where(flow_runs.c.id == run_id)
        .values(
            status=runs.RunStatus.RUNNING,
            attempts=0,
            next_attempt_at=now(),
            finished_at=None,
            lease_owner=None,
            lease_until=None,
            updated_at=now(),
        )
    )


def retry(store: Store, exception_id: int, actor: str) -> dict[str, Any]:
    """Run the failed run again from the step that failed."""
    with store.transaction("retrying an exception") as conn:
        before = _active(conn, exception_id)
        _rerun(conn, before["run_id"], from_start=False)
        exception_queue.set_state(conn, exception_id, State.RETRYING)
        audit.record(
            conn,
            actor,
            "exception.retry",
            f"exception:{exception_id}",
            {"before": before["status"], "after": State.RETRYING, "run": before["run_id"]},
        )
    return {"exception": exception_id, "status": State.RETRYING}


def edit_and_retry(
    store: Store,
    exception_id: int,
    actor: str,
    payload: dict[str, Any],
    flows: Mapping[str, Flow],
    systems: Mapping[str, Connector],
) -> dict[str, Any]:
    """Replace the run's input payload (validated first) and run it again from the start.

    Raises ContractViolation, naming fields and rules, when the edit is invalid; nothing is
    changed then.
    """
    with store.transaction("editing an exception") as conn:
        before = _active(conn, exception_id)
        row = conn.execute(
            sa.select(journal.c.envelope, flow_runs.c.payload_override)
            .join(flow_runs, flow_runs.c.journal_id == journal.c.id)
            .where(flow_runs.c.id == before["run_id"])
        ).one()
        event = CloudEvent.model_validate(row.envelope)
        flows[before["flow"]].check_payload(payload, event, systems)
        previous = row.payload_override or event.data.get("payload")
        conn.execute(
            sa.update(flow_runs)
            .where(flow_runs.c.id == before["run_id"])
            .values(payload_override=payload)
        )
        _rerun(conn, before["run_id"], from_start=True)
        exception_queue.set_state(conn, exception_id, State.RETRYING)
        audit.record(
            conn,
            actor,
            "exception.edit_and_retry",
            f"exception:{exception_id}",
            {"before": previous, "after": payload, "run": before["run_id"]},
        )
    return {"exception": exception_id, "status": State.RETRYING}


def _close(
    store: Store, exception_id: int, actor: str, state: str, action: str, note: str | None
) -> dict[str, Any]:
    with store.transaction(f"{action} an exception") as conn:
        before = _active(conn, exception_id)
        exception_queue.set_state(conn, exception_id, state, actor)
        resumed = holds.release_for_exception(conn, exception_id, actor)
        audit.record(
            conn,
            actor,
            f"exception.{action}",
            f"exception:{exception_id}",
            {"before": before["status"], "after": state, "note": note, "resumed_events": resumed},
        )
    return {"exception": exception_id, "status": state, "resumed_events": resumed}


def skip(store: Store, exception_id: int, actor: str, note: str | None = None) -> dict[str, Any]:
    """Give the work up; holds are released and parked work resumes."""
    return _close(store, exception_id, actor, State.SKIPPED, "skip", note)


def resolve(store: Store, exception_id: int, actor: str, note: str | None = None) -> dict[str, Any]:
    """Someone fixed it outside the hub; holds are released and parked work resumes."""
    return _close(store, exception_id, actor, State.RESOLVED, "resolve", note)


def release_hold(store: Store, hold_id: int, actor: str, note: str | None = None) -> dict[str, Any]:
    """Release a hold explicitly; the events parked behind it resume, in order."""
    with store.transaction("releasing a hold") as conn:
        before = holds.get(conn, hold_id)
        if before is None:
            raise ActionRefused(f"hold {hold_id} does not exist")
        if before["status"] != holds.ACTIVE:
            raise ActionRefused(f"hold {hold_id} is already {before['status']}")
        resumed = holds.release(conn, hold_id, actor)
        audit.record(
            conn,
            actor,
            "hold.release",
            f"hold:{hold_id}",
            {
                "before": holds.ACTIVE,
                "after": holds.RELEASED,
                "note": note,
                "key": before["key"],
                "resumed_events": resumed,
            },
        )
    return {"hold": hold_id, "status": holds.RELEASED, "resumed_events": resumed}
