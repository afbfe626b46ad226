"""Timesheet and expense report submissions: how time and expenses get approved.

Documented [KT-TS-SUB] [KT-ERS]: ``POST /timesheet_submissions`` with ``line_item_ids``,
``title`` and ``workspace_id`` (one project per submission), ``POST
/expense_report_submissions`` with ``line_item_ids``, and ``PUT .../{id}/approve|reject|cancel``
with an optional ``resolution.description``. Assumptions, not found in what we read: the
submission's ``status`` field (``pending``/``approved``/``rejected``/``canceled``); an item
keeps ``active_submission_id`` pointing at its last submission until that is canceled, so a
rejection stays readable; every resolution touches its items (one ``updated`` event each).
"""

from __future__ import annotations

from typing import Any

from interlock.sandbox.kantata.envelope import ApiError, validation
from interlock.sandbox.kantata.ledger import pending
from interlock.sandbox.kantata.records import Lookup, Record
from interlock.sandbox.kantata.values import Problems, clean_text

ITEMS = {"timesheet_submissions": "time_entries", "expense_report_submissions": "expenses"}
OUTCOMES = {"approve": "approved", "reject": "rejected", "cancel": "canceled"}


def new_submission(
    table: str, body: Record, *, record_id: str, now: str, find: Lookup
) -> tuple[Record, list[Record]]:
    """The submission a create body asks for, and its line items (validated)."""
    problems: Problems = []
    items = _items(table, body.get("line_item_ids"), find, problems)
    workspaces = {i["workspace_id"] for i in items}
    users = {i["user_id"] for i in items}
    workspace_id = str(body.get("workspace_id") or "") or None
    title = clean_text(body.get("title"))
    if table == "timesheet_submissions":
        if title is None:
            problems.append(validation("Title can't be blank", "title"))
        if workspace_id is None:
            problems.append(validation("Please choose a project", "workspace_id"))
    if len(workspaces) > 1 or (workspace_id and items and workspaces != {workspace_id}):
        problems.append(
            validation("A submission can be associated with only one project", "workspace_id")
        )
    if len(users) > 1:
        problems.append(validation("All line items must belong to one user", "line_item_ids"))
    if problems:
        raise ApiError(422, problems)
    record: Record = {
        "id": record_id,
        "workspace_id": workspace_id or next(iter(workspaces)),
        "user_id": str(body.get("user_id") or next(iter(users))),
        "title": title,
        "status": "pending",
        "line_item_ids": [i["id"] for i in items],
        "submitted_at": now,
        "resolved_at": None,
        "resolution_description": None,
        "created_at": now,
        "updated_at": now,
    }
    return record, items


def _items(table: str, ids: Any, find: Lookup, problems: Problems) -> list[Record]:
    if not isinstance(ids, list) or not ids:
        problems.append(validation("Line items can't be blank", "line_item_ids"))
        return []
    items: list[Record] = []
    for item_id in dict.fromkeys(str(i) for i in ids):
        item = find(ITEMS[table], item_id)
        if item is None:
            problems.append(validation(f"Line item {item_id} does not exist", "line_item_ids"))
        elif item["approved"] or pending(item, table, find):
            problems.append(
                validation(f"Line item {item_id} is already submitted", "line_item_ids")
            )
        else:
            items.append(item)
    return items


def resolve(submission: Record, verb: str, description: str | None, now: str) -> Record:
    """The submission after ``verb`` (approve, reject or cancel); only pending ones move."""
    if submission["status"] != "pending":
        raise ApiError(
            422,
            [validation(f"Only a pending submission can be {OUTCOMES[verb]}", "status")],
        )
    return {
        **submission,
        "status": OUTCOMES[verb],
        "resolved_at": now,
        "resolution_description": clean_text(description),
        "updated_at": now,
    }


def item_after(item: Record, submission: Record, now: str) -> Record:
    """A line item once ``submission`` (its new state) was created or resolved."""
    canceled = submission["status"] == "canceled"
    return {
        **item,
        "active_submission_id": None if canceled else submission["id"],
        "approved": item["approved"] or submission["status"] == "approved",
        "updated_at": now,
    }
