"""Kantata records as the emulator stores them, and the validation the API applies on write.

Fields and rules come from vendor-apis.md §4 and the Kantata OX OpenAPI/gem specification
(third party). Messages and rules marked *assumption* are Interlock's guesses, not documented.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from interlock.model.base import ISO_4217
from interlock.sandbox.kantata.envelope import ApiError, validation
from interlock.sandbox.kantata.values import boolean, clean_text, iso_date, whole

Record = dict[str, Any]
Lookup = Callable[[str, str], Record | None]
"""Finds a stored record by (type, id)."""

# Project status keys. Assumption: Kantata's real keys and colours are account-configurable and
# were not found in what we read; these stand in for a default status set.
STATUSES: dict[int, tuple[str, str]] = {
    200: ("Not Started", "grey"),
    210: ("In Setup", "grey"),
    300: ("In Progress", "green"),
    350: ("On Hold", "yellow"),
    400: ("Completed", "blue"),
    500: ("Cancelled", "red"),
}
DEFAULT_STATUS = 200
STORY_TYPES = ("task", "milestone", "deliverable", "issue")
STORY_STATES = ("not started", "started", "needs feedback", "completed", "rejected")
SUBJECT_TYPES = {
    "Workspace": "workspaces",
    "Story": "stories",
    "User": "users",
    "TimeEntry": "time_entries",
    "Expense": "expenses",
    "WorkspaceResource": "workspace_resources",
    "WorkspaceAllocation": "workspace_allocations",
    "Assignment": "assignments",
}
REFERENCE_STATUSES = ("pending", "successful", "failed")
_ZERO_DECIMAL = {
    "JPY",
    "KRW",
    "CLP",
    "ISK",
    "VND",
    "XAF",
    "XOF",
    "XPF",
    "UGX",
    "PYG",
    "RWF",
    "KMF",
    "GNF",
    "DJF",
    "BIF",
    "VUV",
}
_THREE_DECIMAL = {"BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"}


def base_unit(currency: str) -> int:
    """Subunits per unit of ``currency`` (Kantata's ``currency_base_unit``)."""
    if currency in _ZERO_DECIMAL:
        return 1
    return 1000 if currency in _THREE_DECIMAL else 100


def status(key: int) -> dict[str, Any]:
    message, color = STATUSES[key]
    return {"color": color, "key": key, "message": message}


def new_workspace(body: Record, *, record_id: str, now: str) -> Record:
    record: Record = {
        "id": record_id,
        "title": None,
        "description": None,
        "archived": False,
        "budgeted": False,
        "currency": "USD",
        "currency_base_unit": 100,
        "currency_symbol": "USD",
        "price": None,
        "price_in_cents": None,
        "start_date": None,
        "due_date": None,
        "effective_due_date": None,
        "status": status(DEFAULT_STATUS),
        "stories_are_fixed_fee_by_default": False,
        "percentage_complete": 0,
        "access_level": "invitation",
        "created_at": now,
        "updated_at": now,
    }
    problems: list[dict[str, str]] = []
    if body.get("creator_role") not in ("maven", "buyer"):
        problems.append(validation("Please select a role for this project", "creator_role"))
    body = {k: v for k, v in body.items() if k != "archived"}
    return _apply_workspace(record, {"title": None, **body}, problems)


def change_workspace(record: Record, body: Record, *, now: str) -> Record:
    return _apply_workspace({**record, "updated_at": now}, body, [])


def _apply_workspace(record: Record, body: Record, problems: list[dict[str, str]]) -> Record:
    if "title" in body:
        record["title"] = clean_text(body["title"])
        if not record["title"]:
            problems.append(validation("Please give your project a title", "title"))
    for name in ("description",):
        if name in body:
            record[name] = clean_text(body[name])
    for name in ("start_date", "due_date"):
        if name in body:
            record[name] = iso_date(body[name], name, problems)
    record["effective_due_date"] = record["due_date"]
    for name in ("budgeted", "archived", "stories_are_fixed_fee_by_default"):
        if name in body:
            record[name] = boolean(body[name], name, problems)
    if "currency" in body:
        if body["currency"] not in ISO_4217:
            problems.append(validation("Currency is not a supported currency", "currency"))
        else:
            record["currency"] = record["currency_symbol"] = body["currency"]
            record["currency_base_unit"] = base_unit(body["currency"])
    _apply_price(record, body, problems)
    if "status_key" in body:
        key = whole(body["status_key"], "status_key", problems)
        if key is not None and key not in STATUSES:
            problems.append(validation("Status key is not a valid project status", "status_key"))
        elif key is not None:
            record["status"] = status(key)
    start, due = record["start_date"], record["due_date"]
    if start and due and due < start:
        # Assumption: the wording of this rule is ours.
        problems.append(validation("Due date must be on or after the start date", "due_date"))
    if problems:
        raise ApiError(422, problems)
    return record


def _apply_price(record: Record, body: Record, problems: list[dict[str, str]]) -> None:
    unit = record["currency_base_unit"]
    cents: int | None = record["price_in_cents"]
    if "price_in_cents" in body:
        cents = whole(body["price_in_cents"], "price_in_cents", problems)
    if "price" in body:  # the create/update attribute, in major units [3P mavenlink_gem]
        try:
            cents = (
                None
                if body["price"] in (None, "")
                else int((Decimal(str(body["price"])) * unit).to_integral_value())
            )
        except InvalidOperation:
            problems.append(validation("Price is not a number", "price"))
    if cents is not None and cents < 0:
        problems.append(validation("Price must be greater than or equal to 0", "price"))
    record["price_in_cents"] = cents
    record["price"] = None if cents is None else f"{Decimal(cents) / unit:.{len(str(unit)) - 1}f}"


def new_story(body: Record, *, record_id: str, now: str, position: int, find: Lookup) -> Record:
    record: Record = {
        "id": record_id,
        "title": None,
        "description": None,
        "story_type": None,
        "state": "not started",
        "workspace_id": None,
        "parent_id": None,
        "root_id": None,
        "start_date": None,
        "due_date": None,
        "position": position,
        "percentage_complete": 0,
        "time_estimate_in_minutes": None,
        "budget_estimate_in_cents": None,
        "logged_billable_time_in_minutes": 0,
        "billable": True,
        "fixed_fee": False,
        "archived": False,
        "deleted_at": None,
        "created_at": now,
        "updated_at": now,
    }
    problems: list[dict[str, str]] = []
    workspace = find("workspaces", str(body.get("workspace_id") or ""))
    if workspace is None:
        problems.append(validation("Please choose a project for this task", "workspace_id"))
    else:
        record["workspace_id"] = workspace["id"]
        record["fixed_fee"] = workspace["stories_are_fixed_fee_by_default"]
    return _apply_story(record, {"title": None, "story_type": None, **body}, problems, find)


def change_story(record: Record, body: Record, *, now: str, find: Lookup) -> Record:
    body = {k: v for k, v in body.items() if k != "workspace_id"}
    return _apply_story({**record, "updated_at": now}, body, [], find)


def _apply_story(
    record: Record, body: Record, problems: list[dict[str, str]], find: Lookup
) -> Record:
    if "title" in body:
        record["title"] = clean_text(body["title"])
        if not record["title"]:
            problems.append(validation("Please give your task a title", "title"))
    if "story_type" in body:
        record["story_type"] = body["story_type"]
        if body["story_type"] not in STORY_TYPES:
            problems.append(
                validation("Story type must be task, deliverable, milestone or issue", "story_type")
            )
    if "state" in body:
        record["state"] = body["state"]
        if body["state"] not in STORY_STATES:
            problems.append(validation("State is not a valid task state", "state"))
    if "description" in body:
        record["description"] = clean_text(body["description"])
    for name in ("start_date", "due_date"):
        if name in body:
            record[name] = iso_date(body[name], name, problems)
    for name in ("budget_estimate_in_cents", "time_estimate_in_minutes", "percentage_complete"):
        if name in body:
            record[name] = whole(body[name], name, problems)
    for name in ("billable", "fixed_fee", "archived"):
        if name in body:
            record[name] = boolean(body[name], name, problems)
    if body.get("parent_id") not in (None, ""):
        parent = find("stories", str(body["parent_id"]))
        if parent is None or parent["workspace_id"] != record["workspace_id"]:
            problems.append(validation("Parent must be a task in the same project", "parent_id"))
        else:
            record["parent_id"] = parent["id"]
            record["root_id"] = parent["root_id"] or parent["id"]
    if problems:
        raise ApiError(422, problems)
    return record


def new_reference(body: Record, *, record_id: str, now: str, find: Lookup) -> Record:
    problems: list[dict[str, str]] = []
    for name in (
        "subject_type",
        "subject_id",
        "service_name",
        "service_model",
        "service_model_ref",
    ):
        if clean_text(body.get(name)) is None:
            problems.append(
                validation(f"{name.replace('_', ' ').capitalize()} can't be blank", name)
            )
    subject_type = str(body.get("subject_type") or "")
    subject_id = str(body.get("subject_id") or "")
    if (
        subject_type
        and subject_id
        and (
            subject_type not in SUBJECT_TYPES
            or find(SUBJECT_TYPES[subject_type], subject_id) is None
        )
    ):
        problems.append(validation("Subject must exist", "subject_id"))
    state = body.get("status") or "pending"
    if state not in REFERENCE_STATUSES:
        problems.append(validation("Status must be pending, successful or failed", "status"))
    if problems:
        raise ApiError(422, problems)
    return {
        "id": record_id,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "service_name": clean_text(body["service_name"]),
        "service_model": clean_text(body["service_model"]),
        "service_model_ref": str(body["service_model_ref"]).strip(),
        "status": state,
        "external_link": body.get("external_link"),
        "external_message": body.get("external_message"),
        "external_status": body.get("external_status"),
        "locked": bool(body.get("locked", False)),
        "created_at": now,
        "updated_at": now,
        "last_synced_at": now,
    }
