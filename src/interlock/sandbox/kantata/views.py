"""What an index answers: the filters of each endpoint, its order, and its side-loads."""

from __future__ import annotations

from interlock.sandbox.kantata import queries as q
from interlock.sandbox.kantata.envelope import JsonResponse, Page, bad_request, envelope
from interlock.sandbox.kantata.records import SUBJECT_TYPES, Record
from interlock.sandbox.kantata.state import KantataState

INCLUDES = {
    "workspaces": {"external_references"},
    "stories": {"workspace", "parent", "external_references"},
    "users": {"external_references"},
    "external_references": {"subject"},
    "subscribed_events": {"subject"},
}
SEARCHABLE = {
    "workspaces": ("title", "description", "id"),
    "stories": ("title", "description"),
    "users": ("full_name", "email_address"),
}
ORDERS = {
    "workspaces": (
        "updated_at:desc",
        ("created_at", "updated_at", "title", "start_date", "due_date"),
    ),
    "stories": ("position:asc", ("created_at", "updated_at", "title", "position", "due_date")),
    "users": ("id:asc", ("id", "full_name")),
    "external_references": ("last_synced_at:desc", ("created_at", "last_synced_at")),
}
REFERENCE_FILTERS = (
    "subject_type",
    "subject_id",
    "service_name",
    "service_model",
    "service_model_ref",
    "status",
)
SUBJECT_TABLES = {v: k for k, v in SUBJECT_TYPES.items()}


def select(state: KantataState, table: str, query: q.Query) -> list[Record]:
    """The records of ``table`` an index request selects, in its order."""
    records = q.common(state.records(table), query)
    if table == "external_references":
        if not query.get("subject_type"):
            raise bad_request("subject_type is required")
        records = q.equals(records, query, REFERENCE_FILTERS)
    if table == "workspaces":
        records = q.archived(records, query, default="exclude")
    if table == "stories":
        records = q.equals(records, query, ("workspace_id", "parent_id", "story_type"))
        records = q.archived(records, query, default="include")
    if table in ("workspaces", "stories"):
        references = state.records("external_references")
        records = q.by_reference(records, query, SUBJECT_TABLES[table], references)
    if table in SEARCHABLE:
        records = q.search(records, query, SEARCHABLE[table])
    default, allowed = ORDERS[table]
    return q.ordered(records, query, default=default, allowed=allowed)


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
    unknown = asked - INCLUDES.get(table, set())
    if unknown:
        raise bad_request(f"{', '.join(sorted(unknown))} is not a valid include for {table}")
    included: dict[str, dict[str, Record]] = {}
    shaped = [dict(r) for r in records]
    for name in sorted(asked):
        _include(state, table, name, shaped, included)
    return JsonResponse(envelope(table, shaped, total=total, page=page, included=included))


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
        target, target_id = _association(name, record)
        found = state.get(target, target_id) if target_id else None
        if name == "subject":
            record["subject_ref"] = {"key": target, "id": target_id} if found else None
        if found is not None:
            included.setdefault(target, {})[found["id"]] = found


def _association(name: str, record: Record) -> tuple[str, str | None]:
    if name == "workspace":
        return "workspaces", record.get("workspace_id")
    if name == "parent":
        return "stories", record.get("parent_id")
    return SUBJECT_TYPES.get(record.get("subject_type") or "", "workspaces"), record.get(
        "subject_id"
    )
