"""The emulated NetSuite REST web services as a Starlette app.

Routes (paths as on ``https://<account>.suitetalk.api.netsuite.com``):

* ``POST /services/rest/auth/oauth2/v1/token`` — OAuth 2.0 client credentials (JWT assertion).
* ``/services/rest/record/v1/<type>[/<id> | /eid:<externalId>]`` — record CRUD and upsert.
* ``POST /services/rest/query/v1/suiteql`` — SuiteQL (needs ``Prefer: transient``).
* ``GET /__admin/records/<type>`` — read-only inspection for tests and the demo (no auth).

Record and query requests count against the account's concurrency limit (``governance``).
Updates and upserts take ``replace=<sublist>,...`` to replace those sublists' lines instead of
appending to them; reads take ``expandSubResources=true`` to include sublist lines, and
``/<type>/<id>/<sublist>`` lists one sublist's lines.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlock.sandbox.faults import FaultMiddleware, Faults
from interlock.sandbox.netsuite.auth import (
    TOKEN_PATH,
    OAuthError,
    authenticate,
    check_assertion,
    issue_token,
    token_form_assertion,
)
from interlock.sandbox.netsuite.errors import NsError, error_body
from interlock.sandbox.netsuite.filters import parse_filter
from interlock.sandbox.netsuite.governance import Governance
from interlock.sandbox.netsuite.paging import base_url, envelope, page_params
from interlock.sandbox.netsuite.schema import Kind, Renderer
from interlock.sandbox.netsuite.sqlvalues import TABLES
from interlock.sandbox.netsuite.state import NetSuiteState, not_found
from interlock.sandbox.netsuite.suiteql import parse_query
from interlock.sandbox.wire import BodyError, json_object

RECORD_PATH = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
Handler = Callable[[Request], Awaitable[Response]]


def _guarded(state: NetSuiteState, handler: Handler, *, auth: bool = True) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            if auth:
                authenticate(state, request)
            return await handler(request)
        except NsError as exc:
            return exc.response()

    return endpoint


def _href(request: Request) -> Callable[[str, str], str]:
    base = base_url(request)
    return lambda type_name, record_id: f"{base}{RECORD_PATH}/{type_name}/{record_id}"


async def _body(request: Request) -> dict[str, Any]:
    try:
        return await json_object(request)
    except BodyError as exc:
        message = (
            "The request body is not valid JSON."
            if exc.reason == "not_json"
            else "The request body must be a JSON object."
        )
        raise NsError(400, message, "INVALID_CONTENT") from None


def _key(state: NetSuiteState, type_name: str, key: str) -> str:
    if key.startswith("eid:"):
        found = state.find_external(type_name, key[len("eid:") :])
        if found is None:
            raise not_found()
        return found
    return key


def _replace(request: Request) -> tuple[str, ...]:
    raw = request.query_params.get("replace", "")
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def _location(request: Request, type_name: str, record_id: str) -> Response:
    href = f"{base_url(request)}{RECORD_PATH}/{type_name}/{record_id}"
    return Response(status_code=204, headers={"Location": href})


def create_app(state: NetSuiteState | None = None, faults: Faults | None = None) -> Starlette:
    """The sandbox app; ``app.state.sandbox`` is the NetSuiteState, ``app.state.faults`` too."""
    state = state or NetSuiteState()
    faults = faults or Faults()
    token_key = secrets.token_bytes(32)

    async def token(request: Request) -> Response:
        try:
            content_type = request.headers.get("content-type", "")
            assertion = token_form_assertion(content_type, await request.body())
            client_id = check_assertion(state, assertion, f"{base_url(request)}{TOKEN_PATH}")
        except OAuthError as exc:
            return exc.response()
        return JSONResponse(
            {
                "access_token": issue_token(state, client_id, token_key),
                "expires_in": str(state.token_ttl_seconds),
                "token_type": "bearer",
            }
        )

    async def collection(request: Request) -> Response:
        rtype = state.rtype(request.path_params["type"])
        if request.method == "POST":
            record_id = state.create(rtype.name, await _body(request))
            return _location(request, rtype.name, record_id)
        limit, offset = page_params(request)
        records = state.records(rtype.name)
        if "q" in request.query_params:
            matches = parse_filter(request.query_params["q"], rtype)
            records = [r for r in records if matches(r)]
        href = _href(request)
        items = [
            {"links": [{"rel": "self", "href": href(rtype.name, r["id"])}], "id": r["id"]}
            for r in records[offset : offset + limit]
        ]
        return JSONResponse(envelope(request, items, len(records), limit, offset))

    def renderer(request: Request) -> Renderer:
        params = request.query_params
        return Renderer(
            href=_href(request),
            ref_name=state.ref_name,
            simple_enums=params.get("simpleEnumFormat") == "true",
            expand=params.get("expandSubResources") == "true",
        )

    async def record(request: Request) -> Response:
        rtype = state.rtype(request.path_params["type"])
        key: str = request.path_params["key"]
        replace = _replace(request)
        if request.method == "PUT":
            if not key.startswith("eid:"):
                raise NsError(
                    405, "PUT is accepted only with an external id (eid:).", "INVALID_REQUEST"
                )
            body = await _body(request)
            record_id, _ = state.upsert(rtype.name, key[len("eid:") :], body, replace=replace)
            return _location(request, rtype.name, record_id)
        record_id = _key(state, rtype.name, key)
        if request.method == "PATCH":
            state.update(rtype.name, record_id, await _body(request), replace=replace)
            return _location(request, rtype.name, record_id)
        if request.method == "DELETE":
            state.delete(rtype.name, record_id)
            return Response(status_code=204)
        found = state.get(rtype.name, record_id)
        if found is None:
            raise not_found()
        out = renderer(request).record(rtype, found)
        if "fields" in request.query_params:
            wanted = {f.strip().lower() for f in request.query_params["fields"].split(",")}
            out = {k: v for k, v in out.items() if k == "links" or k.lower() in wanted}
        return JSONResponse(out)

    async def sublist(request: Request) -> Response:
        rtype = state.rtype(request.path_params["type"])
        found = state.get(rtype.name, _key(state, rtype.name, request.path_params["key"]))
        field = rtype.lookup(request.path_params["sublist"])
        if found is None or field is None or field[1].kind is not Kind.SUBLIST:
            raise not_found()
        name, spec = field
        link = [{"rel": "self", "href": f"{base_url(request)}{request.url.path}"}]
        return JSONResponse(renderer(request).sublist(spec, found.get(name) or [], link))

    async def suiteql(request: Request) -> Response:
        if request.headers.get("prefer", "").lower() != "transient":
            raise NsError(
                400,
                "The request header 'Prefer' must be set to 'transient'.",
                "INVALID_HEADER",
                header="Prefer",
            )
        body = await _body(request)
        if not isinstance(body.get("q"), str):
            raise NsError(
                400, "The body must have a query string in 'q'.", "INVALID_CONTENT", path="q"
            )
        limit, offset = page_params(request)
        query = parse_query(body["q"])
        rows = query.execute(state.table_rows(TABLES[query.table]))
        items = [{"links": [], **row} for row in rows[offset : offset + limit]]
        return JSONResponse(envelope(request, items, len(rows), limit, offset))

    async def admin_records(request: Request) -> Response:
        return Response(
            orjson.dumps(state.records(request.path_params["type"])), media_type="application/json"
        )

    routes = [
        Route(TOKEN_PATH, _guarded(state, token, auth=False), methods=["POST"]),
        Route(SUITEQL_PATH, _guarded(state, suiteql), methods=["POST"]),
        Route(f"{RECORD_PATH}/{{type}}", _guarded(state, collection), methods=["GET", "POST"]),
        Route(
            f"{RECORD_PATH}/{{type}}/{{key}}",
            _guarded(state, record),
            methods=["GET", "PATCH", "PUT", "DELETE"],
        ),
        Route(
            f"{RECORD_PATH}/{{type}}/{{key}}/{{sublist}}",
            _guarded(state, sublist),
            methods=["GET"],
        ),
        Route(
            "/__admin/records/{type}", _guarded(state, admin_records, auth=False), methods=["GET"]
        ),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    app.state.faults = faults
    app.add_middleware(Governance, state=state)
    app.add_middleware(FaultMiddleware, faults=faults, error_body=error_body)
    return app
