"""Workspace resources, workspace allocations and assignments, and their write rules.

A workspace has resources (a named user or an unnamed slot); an allocation books a resource
over a date range for ``minutes`` in total, hard or soft [KT-WA-CREATE]; an assignment puts a
user on a story [KT-FIVETRAN]. Create bodies name the resource ``resource_id`` as documented;
records carry it as ``workspace_resource_id``. Assumptions: ``role_name`` and ``is_unnamed`` on
resources, ``hard`` defaulting to true, and one current assignment per user and story.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from interlock.sandbox.kantata.envelope import ApiError, validation
from interlock.sandbox.kantata.records import Lookup, Record
from interlock.sandbox.kantata.values import Problems, boolean, clean_text, iso_date, whole

if TYPE_CHECKING:
    from interlock.sandbox.kantata.tables import Write


def new_resource(body: Record, w: Write) -> Record:
    record: Record = {
        "id": w.record_id,
        "workspace_id": None,
        "user_id": None,
        "role_name": None,
        "is_unnamed": True,
        "created_at": w.now,
        "updated_at": w.now,
    }
    problems: Problems = []
    workspace = w.find("workspaces", str(body.get("workspace_id") or ""))
    if workspace is None:
        problems.append(validation("Please choose a project for this resource", "workspace_id"))
    else:
        record["workspace_id"] = workspace["id"]
    return _apply_resource(record, body, problems, w.find)


def change_resource(record: Record, body: Record, w: Write) -> Record:
    body = {k: v for k, v in body.items() if k != "workspace_id"}
    return _apply_resource({**record, "updated_at": w.now}, body, [], w.find)


def _apply_resource(record: Record, body: Record, problems: Problems, find: Lookup) -> Record:
    if "user_id" in body:
        record["user_id"] = None
        if body["user_id"] not in (None, ""):
            user = find("users", str(body["user_id"]))
            if user is None:
                problems.append(validation("User must be a member of the account", "user_id"))
            else:
                record["user_id"] = user["id"]
    record["is_unnamed"] = record["user_id"] is None
    if "role_name" in body:
        record["role_name"] = clean_text(body["role_name"])
    if problems:
        raise ApiError(422, problems)
    return record


def new_allocation(body: Record, w: Write) -> Record:
    record: Record = {
        "id": w.record_id,
        "workspace_resource_id": None,
        "start_date": None,
        "end_date": None,
        "minutes": None,
        "hard": True,
        "percentage": None,
        "notes": None,
        "created_at": w.now,
        "updated_at": w.now,
    }
    body = {"resource_id": None, "start_date": None, "end_date": None, "minutes": None, **body}
    return _apply_allocation(record, body, [], w.find)


def change_allocation(record: Record, body: Record, w: Write) -> Record:
    return _apply_allocation({**record, "updated_at": w.now}, body, [], w.find)


def _apply_allocation(record: Record, body: Record, problems: Problems, find: Lookup) -> Record:
    if "resource_id" in body:
        resource = find("workspace_resources", str(body["resource_id"] or ""))
        if resource is None:
            problems.append(validation("Resource must be a resource of a project", "resource_id"))
        else:
            record["workspace_resource_id"] = resource["id"]
    for name in ("start_date", "end_date"):
        if name in body:
            record[name] = iso_date(body[name], name, problems)
            if record[name] is None and not any(p.get("field") == name for p in problems):
                problems.append(validation(f"{_label(name)} can't be blank", name))
    if "minutes" in body:
        record["minutes"] = whole(body["minutes"], "minutes", problems)
        if record["minutes"] is None or record["minutes"] < 0:
            problems.append(validation("Minutes must be 0 or more", "minutes"))
    if "hard" in body:
        record["hard"] = boolean(body["hard"], "hard", problems)
    if "notes" in body:
        record["notes"] = clean_text(body["notes"])
    start, end = record["start_date"], record["end_date"]
    if start and end and end < start:
        problems.append(validation("End date must be on or after the start date", "end_date"))
    if problems:
        raise ApiError(422, problems)
    return record


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def new_assignment(body: Record, w: Write) -> Record:
    record: Record = {
        "id": w.record_id,
        "story_id": None,
        "assignee_id": None,
        "allocated_minutes": 0,
        "estimated_minutes": None,
        "resource_id": None,
        "current": True,
        "created_at": w.now,
        "updated_at": w.now,
    }
    problems: Problems = []
    story = w.find("stories", str(body.get("story_id") or ""))
    user = w.find("users", str(body.get("assignee_id") or ""))
    if story is None:
        problems.append(validation("Please choose a task for this assignment", "story_id"))
    if user is None:
        problems.append(validation("Assignee must be a member of the account", "assignee_id"))
    if story is not None and user is not None:
        record["story_id"], record["assignee_id"] = story["id"], user["id"]
        taken = any(
            a["story_id"] == story["id"] and a["assignee_id"] == user["id"] and a["current"]
            for a in w.rows("assignments")
        )
        if taken:
            problems.append(validation("Assignee is already assigned to this task", "assignee_id"))
    if body.get("resource_id") not in (None, ""):
        resource = w.find("workspace_resources", str(body["resource_id"]))
        if resource is None:
            problems.append(validation("Resource must be a resource of a project", "resource_id"))
        else:
            record["resource_id"] = resource["id"]
    return _apply_assignment(record, body, problems)


def change_assignment(record: Record, body: Record, w: Write) -> Record:
    return _apply_assignment({**record, "updated_at": w.now}, body, [])


def _apply_assignment(record: Record, body: Record, problems: Problems) -> Record:
    for name in ("allocated_minutes", "estimated_minutes"):
        if name in body:
            value = whole(body[name], name, problems)
            record[name] = value if value is not None or name == "estimated_minutes" else 0
            if value is not None and value < 0:
                problems.append(validation(f"{_label(name)} must be 0 or more", name))
    if "current" in body:
        record["current"] = boolean(body["current"], "current", problems)
    if problems:
        raise ApiError(422, problems)
    return record
