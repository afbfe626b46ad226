"""List filters of the emulated endpoints: ``only``, date filters, ``search``, external references.

Filter names come from the third-party Kantata OpenAPI (api-evangelist/mavenlink). ``updated_after``
is listed there for workspaces and stories, while vendor-apis.md §4.8 marks it unverified:
Interlock assumes it exists and behaves like ``created_after``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from interlock.sandbox.kantata.envelope import bad_request
from interlock.sandbox.kantata.records import Record

Query = Mapping[str, str]
_SEARCH_TERM = re.compile(r"(\w+):'([^']*)'|(\S+)")
_XREF_FILTERS = {
    "external_reference_service_name": "service_name",
    "external_reference_service_model": "service_model",
    "external_reference_service_model_ref": "service_model_ref",
    "external_reference_status": "status",
    "external_reference_external_status": "external_status",
}
MAX_REFS = 200


def parse_time(value: str, name: str) -> dt.datetime:
    """An ISO 8601 date or datetime; naive values are read as UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{name} must be an ISO 8601 datetime") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def ids(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def common(records: Iterable[Record], query: Query) -> list[Record]:
    """Filters every index endpoint has: ``only`` and the created/updated windows."""
    selected = list(records)
    if query.get("only"):
        wanted = set(ids(query["only"]))
        selected = [r for r in selected if r["id"] in wanted]
    for name, field, after in (
        ("created_after", "created_at", True),
        ("created_before", "created_at", False),
        ("updated_after", "updated_at", True),
        ("updated_before", "updated_at", False),
    ):
        if query.get(name):
            bound = parse_time(query[name], name)
            selected = [r for r in selected if _compare(r[field], bound, after)]
    return selected


def _compare(stamp: str, bound: dt.datetime, after: bool) -> bool:
    value = dt.datetime.fromisoformat(stamp)
    return value > bound if after else value < bound


def search(records: list[Record], query: Query, fields: tuple[str, ...]) -> list[Record]:
    """``search=words`` or ``search=field:'words'``: case-insensitive, every term must match."""
    text = query.get("search")
    if not text:
        return records
    if query.get("only"):
        raise bad_request("search cannot be combined with only")
    terms: list[tuple[tuple[str, ...], str]] = []
    for field, quoted, word in _SEARCH_TERM.findall(text):
        if field and field not in fields:
            raise bad_request(f"search on {field} is not supported")
        terms.append(((field,) if field else fields, (quoted or word).lower()))

    def hit(record: Record) -> bool:
        return all(
            any(needle in str(record.get(f) or "").lower() for f in where)
            for where, needle in terms
        )

    return [r for r in records if hit(r)]


def by_reference(
    records: list[Record], query: Query, subject_type: str, references: list[Record]
) -> list[Record]:
    """``external_reference_*`` filters: keep records with one reference matching them all."""
    wanted = {field: query[name] for name, field in _XREF_FILTERS.items() if query.get(name)}
    refs = ids(query.get("external_reference_service_model_refs", ""))
    if len(refs) > MAX_REFS:
        raise bad_request(f"external_reference_service_model_refs takes at most {MAX_REFS} ids")
    has = query.get("has_external_references")
    if not wanted and not refs and has is None:
        return records
    own = [x for x in references if x["subject_type"] == subject_type]
    matching = {
        x["subject_id"]
        for x in own
        if all(x.get(f) == v for f, v in wanted.items())
        and (not refs or x["service_model_ref"] in refs)
    }
    if has is not None and not wanted and not refs:
        having = {x["subject_id"] for x in own}
        keep_having = has.lower() == "true"
        return [r for r in records if (r["id"] in having) == keep_having]
    return [r for r in records if r["id"] in matching]


def archived(records: list[Record], query: Query, *, default: str) -> list[Record]:
    """``archived=include|only|exclude`` (and, on workspaces, ``include_archived=true``)."""
    mode = query.get("archived") or (
        "include" if query.get("include_archived", "").lower() == "true" else default
    )
    if mode not in ("include", "only", "exclude"):
        raise bad_request("archived must be include, only or exclude")
    if mode == "include":
        return records
    return [r for r in records if bool(r.get("archived")) == (mode == "only")]


def equals(records: list[Record], query: Query, names: Iterable[str]) -> list[Record]:
    """Exact-match filters; a comma-separated value matches any of its parts."""
    for name in names:
        if query.get(name):
            allowed = set(ids(query[name]))
            records = [r for r in records if str(r.get(name)) in allowed]
    return records


def ordered(
    records: list[Record], query: Query, *, default: str, allowed: tuple[str, ...]
) -> list[Record]:
    """``order=field:asc|desc``; ``order=search`` keeps relevance (here: the stored order)."""
    text = query.get("order") or default
    if text == "search":
        return records
    field, _, direction = text.partition(":")
    if field not in allowed or direction not in ("asc", "desc"):
        raise bad_request(f"order must be one of {', '.join(allowed)} with :asc or :desc")
    key: Callable[[Record], Any] = _sort_key(field)
    return sorted(records, key=key, reverse=direction == "desc")


def _sort_key(field: str) -> Callable[[Record], Any]:
    def key(record: Record) -> Any:
        value = record.get(field)
        if field == "id":
            return int(str(value)) if str(value).isdigit() else 0
        plain = value if isinstance(value, int | float) else str(value or "").lower()
        return (value is not None, plain, int(record["id"]))

    return key
