"""Kantata time entries and expenses → canonical TimeEntry and Expense. Pure functions.

A change's payload (built by ``activity``) holds the ``record``, its ``submission`` (the
side-loaded active submission, if any) and Interlock's external ``references`` on the
records it points at: ``workspace``, ``story`` and ``user``.

Referenced ids: a workspace or story Interlock created carries Interlock's reference to the
hub's project or task id, and that id is used, so approved time lands on the project the hub
knows. Records made in Kantata get ``canonical_id(kind, system, native id)`` and the engine's
cross-reference reconciles them. Users are treated alike (a ``consultant`` reference, if one
was registered; otherwise derived from the user id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from interlock.connectors.kantata.mapping import PROJECT, TASK, canonical_ref
from interlock.exceptions import Team
from interlock.model import ApprovalState, Expense, TimeEntry, canonical_id
from interlock.model.base import validate_contract

Record = dict[str, Any]
CONSULTANT = "consultant"
MINUTES_PER_HOUR = Decimal(60)
_ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
# Assumption: the status values of submissions were not documented in what we read.
_SUBMISSION_STATES = {
    "pending": ApprovalState.SUBMITTED,
    "rejected": ApprovalState.REJECTED,
    "approved": ApprovalState.APPROVED,
}


def linked_id(
    payload: Mapping[str, Any],
    target: str,
    native_id: Any,
    *,
    kind: str,
    system: str,
    service_name: str,
) -> str | None:
    """Canonical id of the ``target`` record (workspace, story, user) a change points at."""
    if native_id in (None, ""):
        return None
    refs = payload.get("references", {}).get(target, [])
    return canonical_ref(refs, service_name, kind) or canonical_id(kind, system, str(native_id))


def approval_state(record: Mapping[str, Any], submission: Mapping[str, Any] | None) -> str:
    """``approved`` wins; else the state of the item's submission; no submission is draft."""
    if record.get("approved"):
        return ApprovalState.APPROVED
    if submission is None or str(submission.get("id")) != str(record.get("active_submission_id")):
        return ApprovalState.DRAFT
    return _SUBMISSION_STATES.get(str(submission.get("status")), ApprovalState.DRAFT)


def approval_seen(events: Iterable[Mapping[str, Any]]) -> bool:
    """Whether one of the events turned the record approved (created approved, or flipped)."""
    for event in events:
        created = str(event.get("event_type", "")).endswith(":created")
        if created and (event.get("current_payload") or {}).get("approved"):
            return True
        flip = (event.get("payload_changes") or {}).get("approved")
        if isinstance(flip, list) and len(flip) == 2 and not flip[0] and flip[1]:
            return True
    return False


def hours(minutes: int) -> Decimal:
    """Kantata minutes as hours, exact where the quotient ends (90 → 1.5)."""
    return Decimal(int(minutes)) / MINUTES_PER_HOUR


def subunits(currency: str) -> int:
    """Subunits per unit of ``currency`` (amounts in Kantata are ``*_in_cents``)."""
    if currency in _ZERO_DECIMAL:
        return 1
    return 1000 if currency in _THREE_DECIMAL else 100


def _links(payload: Mapping[str, Any], record: Record, system: str, service_name: str) -> Record:
    def link(target: str, field: str, kind: str) -> str | None:
        return linked_id(
            payload, target, record.get(field), kind=kind, system=system, service_name=service_name
        )

    return {
        "project_id": link("workspace", "workspace_id", PROJECT),
        "task_id": link("story", "story_id", TASK),
        "consultant_id": link("user", "user_id", CONSULTANT),
    }


def to_time_entry(payload: Mapping[str, Any], *, system: str, service_name: str) -> TimeEntry:
    """The canonical time entry of a change payload. Raises ContractViolation (PMO)."""
    record: Record = payload["record"]
    minutes = record.get("time_in_minutes")
    data: Record = {
        "id": canonical_id("time_entry", system, str(record["id"])),
        **_links(payload, record, system, service_name),
        "date": record.get("date_performed"),
        "hours": None if minutes is None else hours(minutes),
        "billable": bool(record.get("billable", True)),
        "state": approval_state(record, payload.get("submission")),
        "description": record.get("notes"),
    }
    subject = f"Kantata time entry {record['id']}"
    return validate_contract(TimeEntry, data, subject=subject, team=Team.PMO)


def to_expense(payload: Mapping[str, Any], *, system: str, service_name: str) -> Expense:
    """The canonical expense of a change payload. Raises ContractViolation (PMO)."""
    record: Record = payload["record"]
    links = _links(payload, record, system, service_name)
    cents, currency = record.get("amount_in_cents"), str(record.get("currency") or "")
    amount = None if cents is None else Decimal(int(cents)) / subunits(currency)
    data: Record = {
        "id": canonical_id("expense", system, str(record["id"])),
        "project_id": links["project_id"],
        "consultant_id": links["consultant_id"],
        "date": record.get("date"),
        "category": record.get("category"),
        "amount": {"amount": amount, "currency": currency},
        "billable": bool(record.get("billable", True)),
        "state": approval_state(record, payload.get("submission")),
    }
    subject = f"Kantata expense {record['id']}"
    return validate_contract(Expense, data, subject=subject, team=Team.PMO)
