"""The HTTP face of the emulated org: the OAuth token endpoint and ``/services/data/vNN.N/``.

Every REST response carries ``Sforce-Limit-Info``; token requests do not count against the
daily budget, and one sObject Collections call counts as one request. Errors are JSON arrays
of ``{"message", "errorCode", "fields"}``. Past the budget, ``403 REQUEST_LIMIT_EXCEEDED``
comes with ``Retry-After`` (an Interlock sandbox addition: see ``budget.py``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from interlock.sandbox.faults import FaultMiddleware, Faults
from interlock.sandbox.salesforce import admin, rows
from interlock.sandbox.salesforce import sobject_collections as collections
from interlock.sandbox.salesforce.calls import change_origin
from interlock.sandbox.salesforce.errors import (
    LIMIT_EXCEEDED,
    NOT_FOUND,
    AmbiguousExternalId,
    ApiError,
    error_item,
    fault_body,
)
from interlock.sandbox.salesforce.oauth import token
from interlock.sandbox.salesforce.results import attributes, json_response
from interlock.sandbox.salesforce.schema import SOBJECTS
from interlock.sandbox.salesforce.state import SalesforceState

_VERSION = re.compile(r"\d{2,3}\.\d")
Handler = Callable[[Request, SalesforceState, str], Awaitable[Response]]


def _error(status: int, code: str, message: str) -> Response:
    return json_response([error_item(message, code)], status)


def _api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Check version, session and budget around a REST handler; render its refusals."""

    async def endpoint(request: Request) -> Response:
        state: SalesforceState = request.app.state.sandbox
        version = request.path_params["version"]
        if not _VERSION.fullmatch(version):
            return _error(404, "NOT_FOUND", NOT_FOUND)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        user_id = state.access.session_user(token.strip())
        if scheme.lower() not in ("bearer", "oauth") or user_id is None:
            response = _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        elif not state.budget.spend():
            response = _error(403, "REQUEST_LIMIT_EXCEEDED", LIMIT_EXCEEDED)
            response.headers["Retry-After"] = str(state.budget.retry_after())
        else:
            request.state.user_id = user_id
            request.state.origin = change_origin(
                version, request.headers.get("sforce-call-options", "")
            )
            try:
                response = await handler(request, state, version)
            except ApiError as exc:
                response = json_response(exc.body(), exc.status)
            except AmbiguousExternalId as exc:
                urls = [attributes(exc.sobject, i, version)["url"] for i in exc.ids]
                response = json_response(urls, 300)
        response.headers["Sforce-Limit-Info"] = state.budget.header()
        return response

    return endpoint


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
    names = ("sobjects", "query", "queryAll", "composite")
    return json_response({name: f"{root}/{name}" for name in names})


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


def _routes() -> list[Route]:
    data = "/services/data/v{version}"
    sobjects = data + "/sobjects/{sobject}"
    composite = data + "/composite/sobjects"

    def api(path: str, handler: Handler, *methods: str) -> list[Route]:
        # Salesforce answers with and without a trailing slash
        return [
            Route(p, _api(handler), methods=list(methods)) for p in (path, path.rstrip("/") + "/")
        ]

    return [
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/data", versions, methods=["GET"]),
        Route(data + "/", _api(resources), methods=["GET"]),
        *api(data + "/sobjects", describe_global, "GET"),
        *api(sobjects, rows.create, "POST"),
        *api(sobjects + "/deleted", rows.deleted, "GET"),
        *api(sobjects + "/updated", rows.updated, "GET"),
        *api(sobjects + "/{record_id}", rows.record, "GET", "PATCH", "DELETE"),
        *api(sobjects + "/{field}/{value}", rows.by_external_id, "GET", "PATCH"),
        *api(composite, collections.create_many, "POST"),
        *api(composite, collections.update_many, "PATCH"),
        *api(composite, collections.delete_many, "DELETE"),
        *api(composite + "/{sobject}", collections.retrieve_many, "GET", "POST"),
        *api(composite + "/{sobject}/{field}", collections.upsert_many, "PATCH"),
        *api(data + "/query", _query(False), "GET"),
        *api(data + "/queryAll", _query(True), "GET"),
        *api(data + "/query/{locator}", query_more, "GET"),
        *api(data + "/queryAll/{locator}", query_more, "GET"),
        Route("/__admin/records/{sobject}", admin.records, methods=["GET"]),
        Route("/__admin/cdc/subscribers", admin.subscribers, methods=["GET", "POST"]),
        Route("/__admin/cdc/subscribers/{sub_id}", admin.unsubscribe, methods=["DELETE"]),
        Route("/__admin/cdc/events", admin.events, methods=["GET"]),
    ]


def create_app(state: SalesforceState | None = None, faults: Faults | None = None) -> Starlette:
    """The emulated org as an ASGI app; ``app.state.sandbox`` is the ``SalesforceState``."""
    faults = faults or Faults()
    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(FaultMiddleware, faults=faults, error_body=fault_body)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.sandbox = state or SalesforceState()
    app.state.faults = faults
    return app
