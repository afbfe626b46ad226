"""sObject rows (CRUD, upsert by external id) and the get-deleted/get-updated resources.

Upsert answers by API version: a create is ``201 {id, success, errors, created: true}``; an
update is ``200`` with ``created: false`` from v46.0 on and ``204`` without a body before
(the switch version is commonly cited, not confirmed, see vendor-apis.md §1.3).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from interlock.sandbox.salesforce import ids
from interlock.sandbox.salesforce.calls import api_version, call_transaction, json_body, type_name
from interlock.sandbox.salesforce.errors import NOT_FOUND, AmbiguousExternalId, ApiError
from interlock.sandbox.salesforce.results import attributes, json_response, render
from interlock.sandbox.salesforce.schema import SOBJECTS
from interlock.sandbox.salesforce.state import SalesforceState

UPSERT_200_SINCE = 46.0
DELETED_WINDOW = dt.timedelta(days=15)
UPDATED_WINDOW = dt.timedelta(days=30)


async def create(request: Request, state: SalesforceState, version: str) -> Response:
    name = type_name(request.path_params["sobject"])
    body = await json_body(request)
    with call_transaction(request, state):
        record_id = state.create(name, body)
    return json_response(
        {"id": record_id, "success": True, "errors": []},
        201,
        headers={"Location": attributes(name, record_id, version)["url"]},
    )


async def record(request: Request, state: SalesforceState, version: str) -> Response:
    name, record_id = request.path_params["sobject"], request.path_params["record_id"]
    if request.method == "PATCH":
        body = await json_body(request)
        with call_transaction(request, state):
            state.update(name, record_id, body)
        return Response(status_code=204)
    if request.method == "DELETE":
        with call_transaction(request, state):
            state.delete(name, record_id)
        return Response(status_code=204)
    found = state.get(name, record_id)
    if found is None or found["IsDeleted"]:
        raise ApiError(404, "NOT_FOUND", NOT_FOUND)
    return json_response(selected(request, type_name(name), found, version))


async def by_external_id(request: Request, state: SalesforceState, version: str) -> Response:
    name, field = type_name(request.path_params["sobject"]), request.path_params["field"]
    value = request.path_params["value"]
    if request.method == "PATCH":
        body = await json_body(request)
        update_only = request.query_params.get("updateOnly", "").lower() == "true"
        with call_transaction(request, state):
            if update_only and not state.matching(name, field, value):
                raise ApiError(404, "NOT_FOUND", NOT_FOUND)
            record_id, created = state.upsert(name, field, value, body)
        modern = api_version(version) >= UPSERT_200_SINCE
        result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
        if modern:
            result["created"] = created
        if created:
            return json_response(result, 201)
        return json_response(result, 200) if modern else Response(status_code=204)
    matches = state.matching(name, field, value)
    if len(matches) > 1:
        raise AmbiguousExternalId(name, matches)
    found = state.get(name, matches[0]) if matches else None
    if found is None:
        raise ApiError(404, "NOT_FOUND", NOT_FOUND)
    return json_response(selected(request, name, found, version))


def selected(request: Request, obj_name: str, found: dict[str, Any], version: str) -> Any:
    """The record with only the ``?fields=`` asked for (all when none are)."""
    wanted = [f.strip() for f in request.query_params.get("fields", "").split(",") if f.strip()]
    if not wanted:
        return render(obj_name, found, version)
    return {
        "attributes": attributes(obj_name, found["Id"], version),
        **pick(obj_name, found, wanted),
    }


def pick(obj_name: str, found: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """``wanted`` fields of a record. Raises ApiError(INVALID_FIELD) for unknown names."""
    obj = SOBJECTS[obj_name.lower()]
    picked: dict[str, Any] = {}
    for name in wanted:
        field = obj.field(name)
        if field is None:
            raise ApiError(
                400, "INVALID_FIELD", f"No such column '{name}' on entity '{obj_name}'", [name]
            )
        picked[field.name] = found[field.name]
    return picked


async def deleted(request: Request, state: SalesforceState, version: str) -> Response:
    """``GET /sobjects/{T}/deleted/?start=&end=``: ids deleted in the window (15 days back)."""
    name = type_name(request.path_params["sobject"])
    start, end = _window(request, state, DELETED_WINDOW)
    gone = [
        (ids.parse_datetime(r["SystemModstamp"]), r["Id"])
        for r in state.records(name, include_deleted=True)
        if r["IsDeleted"]
    ]
    earliest = min((when for when, _ in gone), default=start)
    return json_response(
        {
            "deletedRecords": [
                {"id": record_id, "deletedDate": ids.format_datetime(when)}
                for when, record_id in sorted(gone)
                if start <= when < end
            ],
            "earliestDateAvailable": ids.format_datetime(_minute(earliest)),
            "latestDateCovered": ids.format_datetime(min(end, state.now())),
        }
    )


async def updated(request: Request, state: SalesforceState, version: str) -> Response:
    """``GET /sobjects/{T}/updated/?start=&end=``: ids changed in the window (30 days back)."""
    name = type_name(request.path_params["sobject"])
    start, end = _window(request, state, UPDATED_WINDOW)
    changed = [
        r["Id"]
        for r in state.records(name)
        if start <= ids.parse_datetime(r["SystemModstamp"]) < end
    ]
    covered = ids.format_datetime(min(end, state.now()))
    return json_response({"ids": changed, "latestDateCovered": covered})


def _window(
    request: Request, state: SalesforceState, reach: dt.timedelta
) -> tuple[dt.datetime, dt.datetime]:
    """``start``/``end`` with seconds ignored (as Salesforce does)."""
    try:
        start = _minute(ids.parse_datetime(request.query_params["start"]))
        end = _minute(ids.parse_datetime(request.query_params["end"]))
    except (KeyError, ValueError):
        raise ApiError(
            400, "MALFORMED_QUERY", "start and end must be given as dateTime values with an offset"
        ) from None
    now = state.now()
    if end <= start or start < _minute(now - reach):
        raise ApiError(
            400,
            "INVALID_REPLICATION_DATE",
            f"start must be before end and within {reach.days} days of now",
        )
    return start, end


def _minute(value: dt.datetime) -> dt.datetime:
    return value.replace(second=0, microsecond=0)
