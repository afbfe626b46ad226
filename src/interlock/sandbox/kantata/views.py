"""What an index answers: the filters of each endpoint, its order, and its side-loads."""

from __future__ import annotations

from interlock.sandbox.kantata import queries as q
from interlock.sandbox.kantata.envelope import JsonResponse, Page, bad_request, envelope
from interlock.sandbox.kantata.records import SUBJECT_TYPES, Record
from interlock.sandbox.kantata.state import KantataState

# include name → (table of the associated record, field holding its id), per table.
ASSOCIATIONS: dict[str, dict[str, tuple[str, str]]] = {
    "stories": {"workspace": ("workspaces", "workspace_id"), "parent": ("stories", "parent_id")},
    "time_entries": {
        "workspace": ("workspaces", "workspace_id"),
        "story": ("stories", "story_id"),
        "user": ("users", "user_id"),
        "active_submission": ("timesheet_submissions", "active_submission_id"),
    },
    "expenses": {
        "workspace": ("workspaces", "workspace_id"),
        "user": ("users", "user_id"),
        "active_submission": ("expense_report_submissions", "active_submission_id"),
    },
    "workspace_resources": {
        "workspace": ("workspaces", "workspace_id"),
        "user": ("users", "user_id"),
    },
    "workspace_allocations": {
        "workspace_resource": ("workspace_resources", "workspace_resource_id"),
        "workspace": ("workspaces", "workspace_id"),
    },
    "assignments": {"story": ("stories", "story_id"), "assignee": ("users", "assignee_id")},
    "timesheet_submissions": {
        "workspace": ("workspaces", "workspace_id"),
        "user": ("users", "user_id"),
    },
    "expense_report_submissions": {
        "workspace": ("workspaces", "workspace_id"),
        "user": ("users", "user_id"),
    },
}
SIDE_LOADS = {"external_references", "subject"}
SEARCHABLE = {
    "workspaces": ("title", "description", "id"),
    "stories": ("title", "description"),
    "users": ("full_name", "email_address"),
}
ORDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "workspaces": (
        "updated_at:desc",
        ("created_at", "updated_at", "title", "start_date", "due_date"),
    ),
    "stories": ("position:asc", ("created_at", "updated_at", "title", "position", "due_date")),
    "users": ("id:asc", ("id", "full_name")),
    "external_references": ("last_synced_at:desc", ("created_at", "last_synced_at")),
    "time_entries": ("date_performed:desc", ("id", "date_performed", "created_at", "updated_at")),
    "expenses": ("date:desc", ("id", "date", "created_at", "updated_at")),
    "workspace_allocations": ("start_date:asc", ("id", "start_date", "created_at")),
}
EQUALS = {
    "external_references": (
        "subject_type",
        "subject_id",
        "service_name",
        "service_model",
        "service_model_ref",
        "status",
    ),
    "stories": ("workspace_id", "parent_id", "story_type"),
    "time_entries": ("workspace_id", "story_id", "user_id", "approved"),
    "expenses": ("workspace_id", "user_id", "approved"),
    "workspace_resources": ("workspace_id", "user_id"),
    "workspace_allocations": ("workspace_resource_id",),
    "assignments": ("story_id", "assignee_id", "current"),
    "timesheet_submissions": ("workspace_id", "user_id", "status"),
    "expense_report_submissions": ("workspace_id", "user_id", "status"),
}
SUBJECT_TABLES = {v: k for k, v in SUBJECT_TYPES.items()}


def select(state: KantataState, table: str, query: q.Query) -> list[Record]:
    """The records of ``table`` an index request selects, in its order."""
    records = q.common(state.records(table), _booleans(query))
    if table == "external_references" and not query.get("subject_type"):
        raise bad_request("subject_type is required")
    records = q.equals(records, _booleans(query), EQUALS.get(table, ()))
    if table == "workspaces":
        records = q.archived(records, query, default="exclude")
    if table == "stories":
        records = q.archived(records, query, default="include")
    if table == "time_entries":
        records = _performed_between(records, query.get("date_performed_between"))
        if query.get("from_archived_workspaces", "").lower() != "true":
            archived = {w["id"] for w in state.records("workspaces") if w["archived"]}
            records = [r for r in records if r["workspace_id"] not in archived]
    if table in ("workspace_allocations", "assignments"):
        records = _through(state, table, records, query)
    if table in SUBJECT_TABLES and table != "users":
        references = state.records("external_references")
        records = q.by_reference(records, query, SUBJECT_TABLES[table], references)
    if table in SEARCHABLE:
        records = q.search(records, query, SEARCHABLE[table])
    default, allowed = ORDERS.get(table, ("id:asc", ("id", "created_at")))
    return q.ordered(records, query, default=default, allowed=allowed)


def _booleans(query: q.Query) -> dict[str, str]:
    """Boolean filters compare with the stored Python booleans' text."""
    return {
        k: (v.capitalize() if k in ("approved", "current") and v in ("true", "false") else v)
        for k, v in query.items()
    }


def _performed_between(records: list[Record], between: str | None) -> list[Record]:
    """``date_performed_between=2013-06-01:2013-08-01`` (both ends included)."""
    if not between:
        return records
    start, _, end = between.partition(":")
    if not start or not end:
        raise bad_request("date_performed_between must be <start date>:<end date>")
    return [r for r in records if start <= str(r["date_performed"]) <= end]


def _through(
    state: KantataState, table: str, records: list[Record], query: q.Query
) -> list[Record]:
    """Allocations by ``workspace_id``/``user_id`` of their resource; assignments by workspace."""
    if table == "workspace_allocations":
        resources = {r["id"]: r for r in state.records("workspace_resources")}
        for name in ("workspace_id", "user_id"):
            if query.get(name):
                wanted = set(q.ids(query[name]))
                records = [
                    r
                    for r in records
                    if resources.get(r["workspace_resource_id"], {}).get(name) in wanted
                ]
        return records
    if query.get("workspace_id"):
        wanted = set(q.ids(query["workspace_id"]))
        stories = {s["id"] for s in state.records("stories") if s["workspace_id"] in wanted}
        records = [r for r in records if r["story_id"] in stories]
    return records


def render(
    state: KantataState,
    table: str,
    records: list[Record],
    query: q.Query,
    *,
    total: int | None = None,
    page: Page | None = None,
) -> JsonResponse:
    """The envelope of ``records`` with the side-loads ``include`` asks for."""
    asked = set(q.ids(query.get("include", "")))
    allowed = set(ASSOCIATIONS.get(table, {})) | _side_loads(table)
    unknown = asked - allowed
    if unknown:
        raise bad_request(f"{', '.join(sorted(unknown))} is not a valid include for {table}")
    included: dict[str, dict[str, Record]] = {}
    shaped = [dict(r) for r in records]
    for name in sorted(asked):
        _include(state, table, name, shaped, included)
    return JsonResponse(envelope(table, shaped, total=total, page=page, included=included))


def _side_loads(table: str) -> set[str]:
    if table == "subscribed_events":
        return {"subject"}
    if table == "external_references":
        return {"subject"}
    return {"external_references"} if table in SUBJECT_TABLES else set()


def _include(
    state: KantataState,
    table: str,
    name: str,
    records: list[Record],
    included: dict[str, dict[str, Record]],
) -> None:
    if name == "external_references":
        ids = {r["id"] for r in records}
        refs = [
            x
            for x in state.records("external_references")
            if x["subject_type"] == SUBJECT_TABLES[table] and x["subject_id"] in ids
        ]
        for record in records:
            mine = [x for x in refs if x["subject_id"] == record["id"]]
            record["external_reference_ids"] = [x["id"] for x in mine]
            included.setdefault(name, {}).update({x["id"]: x for x in mine})
        return
    for record in records:
        target, target_id = _association(state, table, name, record)
        found = state.get(target, target_id) if target_id else None
        if name == "subject":
            record["subject_ref"] = {"key": target, "id": target_id} if found else None
        if table == "workspace_allocations" and name == "workspace":
            # An allocation shows its workspace_id only with include=workspace [KT-WA-TAG].
            record["workspace_id"] = target_id
        if found is not None:
            included.setdefault(target, {})[found["id"]] = found


def _association(
    state: KantataState, table: str, name: str, record: Record
) -> tuple[str, str | None]:
    if name == "subject":
        subject = SUBJECT_TYPES.get(record.get("subject_type") or "", "workspaces")
        return subject, record.get("subject_id")
    if table == "workspace_allocations" and name == "workspace":
        resource = state.get("workspace_resources", str(record["workspace_resource_id"]))
        return "workspaces", resource["workspace_id"] if resource else None
    target, field = ASSOCIATIONS[table][name]
    value = record.get(field)
    return target, None if value is None else str(value)
