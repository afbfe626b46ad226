"""The HTTP face of the emulated org: the OAuth token endpoint and ``/services/data/vNN.N/``.

Every REST response carries ``Sforce-Limit-Info``; token requests do not count against the
daily budget. Errors are JSON arrays of ``{"message", "errorCode", "fields"}``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from interlock.sandbox.faults import FaultMiddleware, Faults
from interlock.sandbox.salesforce.errors import (
    LIMIT_EXCEEDED,
    NOT_FOUND,
    AmbiguousExternalId,
    ApiError,
    error_item,
    fault_body,
)
from interlock.sandbox.salesforce.oauth import token
from interlock.sandbox.salesforce.results import attributes, json_response, render
from interlock.sandbox.salesforce.schema import SOBJECTS, sobject
from interlock.sandbox.salesforce.state import SalesforceState

_VERSION = re.compile(r"\d{2,3}\.\d")
Handler = Callable[[Request, SalesforceState, str], Awaitable[Response]]


def _error(status: int, code: str, message: str) -> Response:
    return json_response([error_item(message, code)], status)


def _state(request: Request) -> SalesforceState:
    state: SalesforceState = request.app.state.sandbox
    return state


def _api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Check version, session and budget around a REST handler; render its refusals."""

    async def endpoint(request: Request) -> Response:
        state = _state(request)
        version = request.path_params["version"]
        if not _VERSION.fullmatch(version):
            return _error(404, "NOT_FOUND", NOT_FOUND)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not state.token_valid(token.strip()):
            response = _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        elif not state.spend_request():
            response = _error(403, "REQUEST_LIMIT_EXCEEDED", LIMIT_EXCEEDED)
        else:
            try:
                response = await handler(request, state, version)
            except ApiError as exc:
                response = json_response(exc.body(), exc.status)
            except AmbiguousExternalId as exc:
                urls = [attributes(exc.sobject, i, version)["url"] for i in exc.ids]
                response = json_response(urls, 300)
        response.headers["Sforce-Limit-Info"] = state.limit_info()
        return response

    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ApiError(
            400,
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of sObject out of START_ARRAY token",
        )
    return data


# -- REST ----------------------------------------------------------------------------------


async def versions(request: Request) -> Response:
    """``GET /services/data``: the API versions (needs no session, carries no limit header)."""
    return json_response(
        [
            {"label": label, "url": f"/services/data/v{v}", "version": v}
            for label, v in (("Summer '24", "61.0"), ("Winter '25", "62.0"), ("Spring '25", "63.0"))
        ]
    )


async def resources(request: Request, state: SalesforceState, version: str) -> Response:
    root = f"/services/data/v{version}"
    return json_response({name: f"{root}/{name}" for name in ("sobjects", "query", "queryAll")})


async def describe_global(request: Request, state: SalesforceState, version: str) -> Response:
    return json_response(
        {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [
                {
                    "name": o.name,
                    "keyPrefix": o.key_prefix,
                    "custom": o.name.endswith("__c"),
                    "urls": {"sobject": f"/services/data/v{version}/sobjects/{o.name}"},
                }
                for o in SOBJECTS.values()
            ],
        }
    )


async def create(request: Request, state: SalesforceState, version: str) -> Response:
    name = request.path_params["sobject"]
    record_id = state.create(name, await _body(request))
    obj_name = _name(name)
    return json_response(
        {"id": record_id, "success": True, "errors": []},
        201,
        headers={"Location": attributes(obj_name, record_id, version)["url"]},
    )


async def record(request: Request, state: SalesforceState, version: str) -> Response:
    name, record_id = request.path_params["sobject"], request.path_params["record_id"]
    if request.method == "PATCH":
        state.update(name, record_id, await _body(request))
        return Response(status_code=204)
    if request.method == "DELETE":
        state.delete(name, record_id)
        return Response(status_code=204)
    found = state.get(name, record_id)
    if found is None or found["IsDeleted"]:
        raise ApiError(404, "NOT_FOUND", NOT_FOUND)
    return json_response(_selected(request, _name(name), found, version))


async def by_external_id(request: Request, state: SalesforceState, version: str) -> Response:
    name, field = request.path_params["sobject"], request.path_params["field"]
    value = request.path_params["value"]
    if request.method == "PATCH":
        record_id, created = state.upsert(name, field, value, await _body(request))
        return json_response(
            {"id": record_id, "success": True, "errors": [], "created": created},
            201 if created else 200,
        )
    matches = state.matching(name, field, value)
    if len(matches) > 1:
        raise AmbiguousExternalId(_name(name), matches)
    found = state.get(name, matches[0]) if matches else None
    if found is None:
        raise ApiError(404, "NOT_FOUND", NOT_FOUND)
    return json_response(_selected(request, _name(name), found, version))


def _name(name: str) -> str:
    obj = sobject(name)
    if obj is None:
        raise ApiError(404, "NOT_FOUND", NOT_FOUND)
    return obj.name


def _selected(request: Request, obj_name: str, found: dict[str, Any], version: str) -> Any:
    wanted = [f.strip() for f in request.query_params.get("fields", "").split(",") if f.strip()]
    if not wanted:
        return render(obj_name, found, version)
    obj = SOBJECTS[obj_name.lower()]
    picked: dict[str, Any] = {}
    for name in wanted:
        field = obj.field(name)
        if field is None:
            raise ApiError(
                400, "INVALID_FIELD", f"No such column '{name}' on entity '{obj_name}'", [name]
            )
        picked[field.name] = found[field.name]
    return {"attributes": attributes(obj_name, found["Id"], version), **picked}


def _query(include_deleted: bool) -> Handler:
    async def run(request: Request, state: SalesforceState, version: str) -> Response:
        soql = request.query_params.get("q")
        if not soql:
            raise ApiError(400, "MALFORMED_QUERY", "Query string parameter 'q' is required")
        return json_response(state.query(soql, version=version, include_deleted=include_deleted))

    return run


async def query_more(request: Request, state: SalesforceState, version: str) -> Response:
    locator, _, offset = request.path_params["locator"].rpartition("-")
    if not offset.isdigit():
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return json_response(state.query_more(locator, int(offset), version=version))


async def admin_records(request: Request) -> Response:
    """``GET /__admin/records/{sobject}``: every record of a type, deleted ones included."""
    state = _state(request)
    try:
        obj_name = _name(request.path_params["sobject"])
    except ApiError as exc:
        return json_response(exc.body(), exc.status)
    return json_response(
        [render(obj_name, r, "62.0") for r in state.records(obj_name, include_deleted=True)]
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return _error(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}",
        )
    return _error(exc.status_code, "NOT_FOUND", NOT_FOUND)


def create_app(state: SalesforceState | None = None, faults: Faults | None = None) -> Starlette:
    """The emulated org as an ASGI app; ``app.state.sandbox`` is the ``SalesforceState``."""
    data = "/services/data/v{version}"
    routes = [
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/data", versions, methods=["GET"]),
        Route(data + "/", _api(resources), methods=["GET"]),
        Route(data + "/sobjects", _api(describe_global), methods=["GET"]),
        Route(data + "/sobjects/{sobject}", _api(create), methods=["POST"]),
        Route(data + "/sobjects/{sobject}/", _api(create), methods=["POST"]),
        Route(
            data + "/sobjects/{sobject}/{record_id}",
            _api(record),
            methods=["GET", "PATCH", "DELETE"],
        ),
        Route(
            data + "/sobjects/{sobject}/{field}/{value}",
            _api(by_external_id),
            methods=["GET", "PATCH"],
        ),
        Route(data + "/query", _api(_query(False)), methods=["GET"]),
        Route(data + "/query/", _api(_query(False)), methods=["GET"]),
        Route(data + "/queryAll", _api(_query(True)), methods=["GET"]),
        Route(data + "/queryAll/", _api(_query(True)), methods=["GET"]),
        Route(data + "/query/{locator}", _api(query_more), methods=["GET"]),
        Route(data + "/queryAll/{locator}", _api(query_more), methods=["GET"]),
        Route("/__admin/records/{sobject}", admin_records, methods=["GET"]),
    ]
    faults = faults or Faults()
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, faults=faults, error_body=fault_body)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.sandbox = state or SalesforceState()
    app.state.faults = faults
    return app
