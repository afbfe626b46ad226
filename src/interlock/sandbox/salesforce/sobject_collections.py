"""sObject Collections: up to 200 records per call, one API request, results in request order.

``POST /composite/sobjects`` creates, ``PATCH /composite/sobjects`` updates by ``id``,
``PATCH /composite/sobjects/{T}/{ExtIdField}`` upserts by external id (v46.0+),
``GET|POST /composite/sobjects/{T}`` retrieves (``ids`` and ``fields``), ``DELETE
/composite/sobjects?ids=`` deletes. Each result is ``{id, success, errors: [{statusCode,
message, fields}]}`` (upserts add ``created``). ``allOrNone: true`` rolls everything back when
one record fails: the failing records keep their errors, the others report
``ALL_OR_NONE_OPERATION_ROLLED_BACK``. A malformed request (no ``records``, no type, more than
200 records) is refused as a whole with a 400 error array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from interlock.sandbox.salesforce.calls import api_version, call_transaction, json_body, type_name
from interlock.sandbox.salesforce.errors import NOT_FOUND, AmbiguousExternalId, ApiError
from interlock.sandbox.salesforce.results import json_response
from interlock.sandbox.salesforce.rows import UPSERT_200_SINCE, pick
from interlock.sandbox.salesforce.state import SalesforceState

MAX_RECORDS = 200
MAX_RETRIEVE_IDS = 2000
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}
Result = dict[str, Any]


class _RolledBack(Exception):
    """Unwinds the call's transaction when ``allOrNone`` and a record failed."""


def _failure(exc: ApiError, record_id: str | None = None) -> Result:
    error = {"statusCode": exc.code, "message": exc.message, "fields": exc.fields}
    result: Result = {"success": False, "errors": [error]}
    return {"id": record_id, **result} if record_id else result


def _run(
    request: Request,
    state: SalesforceState,
    items: list[Any],
    write: Callable[[Any], Result],
    all_or_none: bool,
    known_id: Callable[[Any], str | None] = lambda item: None,
) -> list[Result]:
    """Write each item in its own savepoint of one transaction; collect results in order."""
    results: list[Result] = []
    try:
        with call_transaction(request, state):
            for item in items:
                try:
                    with state.transaction():
                        results.append(write(item))
                except ApiError as exc:
                    results.append(_failure(exc, known_id(item)))
            if all_or_none and not all(r["success"] for r in results):
                raise _RolledBack
    except _RolledBack:
        for index, item in enumerate(items):
            if results[index]["success"]:
                known = known_id(item)
                rolled: Result = {"success": False, "errors": [ROLLED_BACK]}
                results[index] = {"id": known, **rolled} if known else rolled
    return results


async def _records(request: Request) -> tuple[list[dict[str, Any]], bool]:
    body = await json_body(request)
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ApiError(400, "JSON_PARSER_ERROR", "records must be a list of sObjects")
    if len(records) > MAX_RECORDS:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    for record in records:
        kind = (record.get("attributes") or {}).get("type")
        if not isinstance(kind, str) or not kind:
            raise ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    return records, bool(body.get("allOrNone", False))


def _kind(record: dict[str, Any]) -> str:
    return type_name(str(record["attributes"]["type"]))


async def create_many(request: Request, state: SalesforceState, version: str) -> Response:
    records, all_or_none = await _records(request)

    def write(record: dict[str, Any]) -> Result:
        if any(k.lower() == "id" for k in record):
            raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        return {"id": state.create(_kind(record), record), "success": True, "errors": []}

    return json_response(_run(request, state, records, write, all_or_none))


async def update_many(request: Request, state: SalesforceState, version: str) -> Response:
    records, all_or_none = await _records(request)

    def record_id(record: dict[str, Any]) -> str | None:
        found = next((v for k, v in record.items() if k.lower() == "id"), None)
        return str(found) if found else None

    def write(record: dict[str, Any]) -> Result:
        target = record_id(record)
        if target is None:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
        fields = {k: v for k, v in record.items() if k.lower() != "id"}
        state.update(_kind(record), target, fields)
        return {"id": target, "success": True, "errors": []}

    return json_response(_run(request, state, records, write, all_or_none, record_id))


async def upsert_many(request: Request, state: SalesforceState, version: str) -> Response:
    if api_version(version) < UPSERT_200_SINCE:
        raise ApiError(404, "NOT_FOUND", NOT_FOUND)
    name, field = type_name(request.path_params["sobject"]), request.path_params["field"]
    records, all_or_none = await _records(request)
    state.matching(name, field, "")  # 404 NOT_FOUND when the field is no external id
    values = [next((v for k, v in r.items() if k.lower() == field.lower()), None) for r in records]
    seen = [str(v).casefold() for v in values if v not in (None, "")]

    def write(item: tuple[dict[str, Any], Any]) -> Result:
        record, value = item
        if _kind(record) != name:
            raise ApiError(400, "INVALID_TYPE", f"records must be of type {name}")
        if value in (None, ""):
            raise ApiError(400, "REQUIRED_FIELD_MISSING", f"{field} is required", [field])
        if seen.count(str(value).casefold()) > 1:
            raise ApiError(400, "DUPLICATE_EXTERNAL_ID", f"Duplicate external id: {value}", [field])
        fields = {k: v for k, v in record.items() if k.lower() != field.lower()}
        try:
            record_id, created = state.upsert(name, field, str(value), fields)
        except AmbiguousExternalId as exc:
            raise ApiError(
                400,
                "DUPLICATE_EXTERNAL_ID",
                f"{field}: more than one record found for external id field: {exc.ids}",
                [field],
            ) from None
        return {"id": record_id, "success": True, "errors": [], "created": created}

    items = list(zip(records, values, strict=True))
    return json_response(_run(request, state, items, write, all_or_none))


async def retrieve_many(request: Request, state: SalesforceState, version: str) -> Response:
    name = type_name(request.path_params["sobject"])
    if request.method == "POST":
        body = await json_body(request)
        wanted_ids, fields = body.get("ids"), body.get("fields")
    else:
        wanted_ids = _listed(request.query_params.get("ids"))
        fields = _listed(request.query_params.get("fields"))
    if not isinstance(wanted_ids, list) or not wanted_ids or not isinstance(fields, list):
        raise ApiError(400, "MISSING_ARGUMENT", "ids and fields are required")
    if not fields:
        raise ApiError(400, "MISSING_ARGUMENT", "fields is required")
    if len(wanted_ids) > MAX_RETRIEVE_IDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", f"cannot retrieve more than {MAX_RETRIEVE_IDS}")
    found: list[Any] = []
    for record_id in wanted_ids:
        record = state.get(name, str(record_id))
        if record is None or record["IsDeleted"]:
            found.append(None)
            continue
        url = f"/services/data/v{version}/sobjects/{name}/{record['Id']}"
        picked = pick(name, record, [str(f) for f in fields])
        found.append({"attributes": {"type": name, "url": url}, **picked})
    return json_response(found)


async def delete_many(request: Request, state: SalesforceState, version: str) -> Response:
    targets = _listed(request.query_params.get("ids"))
    if not targets:
        raise ApiError(400, "MISSING_ARGUMENT", "ids is required")
    if len(targets) > MAX_RECORDS:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"

    def write(record_id: str) -> Result:
        kind = state.type_of(record_id)
        if kind is None:
            raise ApiError(400, "MALFORMED_ID", f"malformed id {record_id}")
        try:
            state.delete(kind, record_id)
        except ApiError as exc:
            if exc.code == "NOT_FOUND":
                raise ApiError(
                    400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"
                ) from None
            raise
        return {"id": record_id, "success": True, "errors": []}

    return json_response(_run(request, state, targets, write, all_or_none, lambda i: i))


def _listed(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]
