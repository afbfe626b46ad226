"""Time entries and expenses as the emulator stores them, and the rules the API applies on write.

Fields follow vendor-apis.md §4.5 [KT-TE] [KT-EXP]. ``approved``, ``is_invoiced`` and
``active_submission_id`` are read-only: approval happens through timesheet and expense report
submissions (see ``approvals``), so the emulator ignores them in create and update bodies.
Assumptions (not documented in what we read): an approved entry, or one in a pending
submission, cannot be changed or deleted (422); a user id left out means the integration
user; ``time_in_minutes`` is 1 to 1440.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from interlock.model.base import ISO_4217
from interlock.sandbox.kantata.envelope import ApiError, validation
from interlock.sandbox.kantata.records import Lookup, Record
from interlock.sandbox.kantata.values import Problems, boolean, clean_text, iso_date, whole

if TYPE_CHECKING:
    from interlock.sandbox.kantata.tables import Write

MINUTES_PER_DAY = 1440
SUBMISSIONS = {"time_entries": "timesheet_submissions", "expenses": "expense_report_submissions"}


def new_time_entry(body: Record, w: Write) -> Record:
    record: Record = {
        "id": w.record_id,
        "workspace_id": None,
        "story_id": None,
        "user_id": None,
        "date_performed": None,
        "time_in_minutes": None,
        "billable": True,
        "notes": None,
        "rate_in_cents": 0,
        "cost_rate_in_cents": 0,
        "currency": "USD",
        "approved": False,
        "is_invoiced": False,
        "active_submission_id": None,
        "created_at": w.now,
        "updated_at": w.now,
    }
    problems: Problems = []
    _owner(record, body, w, problems, "Please choose a project for this time entry")
    body = {"date_performed": None, "time_in_minutes": None, **body}
    return _apply_time(record, body, problems, w.find)


def change_time_entry(record: Record, body: Record, w: Write) -> Record:
    _unlocked(record, "time entry", "timesheet_submissions", w.find)
    body = {k: v for k, v in body.items() if k != "workspace_id"}
    return _apply_time({**record, "updated_at": w.now}, body, [], w.find)


def _apply_time(record: Record, body: Record, problems: Problems, find: Lookup) -> Record:
    if "story_id" in body:
        record["story_id"] = None
        if body["story_id"] not in (None, ""):
            story = find("stories", str(body["story_id"]))
            if story is None or story["workspace_id"] != record["workspace_id"]:
                problems.append(validation("Task must belong to the project", "story_id"))
            else:
                record["story_id"] = story["id"]
    _user(record, body, find, problems)
    if "date_performed" in body:
        record["date_performed"] = iso_date(body["date_performed"], "date_performed", problems)
        if record["date_performed"] is None and not _named(problems, "date_performed"):
            problems.append(validation("Date performed can't be blank", "date_performed"))
    if "time_in_minutes" in body:
        minutes = whole(body["time_in_minutes"], "time_in_minutes", problems)
        record["time_in_minutes"] = minutes
        if minutes is None and not _named(problems, "time_in_minutes"):
            problems.append(validation("Time in minutes can't be blank", "time_in_minutes"))
        elif minutes is not None and not 0 < minutes <= MINUTES_PER_DAY:
            problems.append(
                validation("Time must be more than 0 and at most 24 hours", "time_in_minutes")
            )
    for name in ("rate_in_cents", "cost_rate_in_cents"):
        if name in body:
            record[name] = whole(body[name], name, problems) or 0
            if record[name] < 0:
                problems.append(validation(f"{name} must be 0 or more", name))
    _common(record, body, problems)
    return record


def new_expense(body: Record, w: Write) -> Record:
    record: Record = {
        "id": w.record_id,
        "workspace_id": None,
        "user_id": None,
        "date": None,
        "category": None,
        "expense_category_id": None,
        "amount_in_cents": None,
        "currency": "USD",
        "billable": True,
        "notes": None,
        "approved": False,
        "is_invoiced": False,
        "active_submission_id": None,
        "created_at": w.now,
        "updated_at": w.now,
    }
    problems: Problems = []
    _owner(record, body, w, problems, "Please choose a project for this expense")
    body = {"date": None, "category": None, "amount_in_cents": None, **body}
    return _apply_expense(record, body, problems, w.find)


def change_expense(record: Record, body: Record, w: Write) -> Record:
    _unlocked(record, "expense", "expense_report_submissions", w.find)
    body = {k: v for k, v in body.items() if k != "workspace_id"}
    return _apply_expense({**record, "updated_at": w.now}, body, [], w.find)


def _apply_expense(record: Record, body: Record, problems: Problems, find: Lookup) -> Record:
    _user(record, body, find, problems)
    if "date" in body:
        record["date"] = iso_date(body["date"], "date", problems)
        if record["date"] is None and not _named(problems, "date"):
            problems.append(validation("Date can't be blank", "date"))
    if "category" in body:
        record["category"] = clean_text(body["category"])
        if record["category"] is None:
            problems.append(validation("Category can't be blank", "category"))
    if "amount_in_cents" in body:
        cents = whole(body["amount_in_cents"], "amount_in_cents", problems)
        record["amount_in_cents"] = cents
        if cents is None and not _named(problems, "amount_in_cents"):
            problems.append(validation("Amount can't be blank", "amount_in_cents"))
        elif cents is not None and cents < 0:
            problems.append(validation("Amount must be 0 or more", "amount_in_cents"))
    if "currency" in body:
        if body["currency"] not in ISO_4217:
            problems.append(validation("Currency is not a supported currency", "currency"))
        else:
            record["currency"] = body["currency"]
    _common(record, body, problems)
    return record


def _owner(record: Record, body: Record, w: Write, problems: Problems, message: str) -> None:
    """The workspace (required) and the user (default: the integration user) of a new item."""
    workspace = w.find("workspaces", str(body.get("workspace_id") or ""))
    if workspace is None:
        problems.append(validation(message, "workspace_id"))
    else:
        record["workspace_id"] = workspace["id"]
        record["currency"] = workspace["currency"]
    record["user_id"] = w.acting_user


def _user(record: Record, body: Record, find: Lookup, problems: Problems) -> None:
    if body.get("user_id") not in (None, ""):
        user = find("users", str(body["user_id"]))
        if user is None:
            problems.append(validation("User must be a member of the account", "user_id"))
        else:
            record["user_id"] = user["id"]


def _common(record: Record, body: Record, problems: Problems) -> None:
    if "billable" in body:
        record["billable"] = boolean(body["billable"], "billable", problems)
    if "notes" in body:
        record["notes"] = clean_text(body["notes"])
    if problems:
        raise ApiError(422, problems)


def _named(problems: Problems, field: str) -> bool:
    return any(p.get("field") == field for p in problems)


def pending(record: Record, submissions: str, find: Lookup) -> bool:
    """Whether the item sits in a submission waiting for approval."""
    submission_id = record.get("active_submission_id")
    submission = find(submissions, str(submission_id)) if submission_id else None
    return submission is not None and submission["status"] == "pending"


def _unlocked(record: Record, noun: str, submissions: str, find: Lookup) -> None:
    if record.get("approved"):
        raise ApiError(
            422, [validation(f"An approved {noun} cannot be changed or deleted", "approved")]
        )
    if pending(record, submissions, find):
        raise ApiError(
            422,
            [
                validation(
                    f"A submitted {noun} cannot be changed or deleted", "active_submission_id"
                )
            ],
        )


def guard_delete(noun: str, submissions: str) -> Callable[[Record, Lookup], None]:
    """The delete rule: approved or submitted items stay."""

    def guard(record: Record, find: Lookup) -> None:
        _unlocked(record, noun, submissions, find)

    return guard
