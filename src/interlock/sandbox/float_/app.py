"""The Float v3 emulator as a Starlette app, served under ``/v3/``.

Every request needs ``Authorization: Bearer <token>`` (else 401) and a ``User-Agent`` naming
the application and a contact email (else 400: Float requires it [FL-AUTH]; the status it
answers without one is [UNVERIFIED]). Then the token's per-minute budget is spent: 200 GETs
and 100 writes by default, 429 with ``Retry-After`` past it. Lists are bare JSON arrays with
``X-Pagination-*`` headers; a create answers 201 with ``Location`` and the object; ``PATCH``
(and ``PUT``, as Yii2 routes both) updates; ``DELETE`` answers 204.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from interlock.sandbox.faults import FaultMiddleware, Faults
from interlock.sandbox.float_.queries import select
from interlock.sandbox.float_.records import TABLES
from interlock.sandbox.float_.state import DEMO_TOKEN, FloatState
from interlock.sandbox.float_.wire import (
    ApiError,
    JsonResponse,
    Page,
    bad_request,
    error_document,
    error_response,
    fault_body,
    not_found,
)
from interlock.sandbox.wire import BodyError, bearer_token, json_object

API = "/v3"
Handler = Callable[[Request], Awaitable[Response]]
_CONTACT = re.compile(r"[^@\s()<>]+@[^@\s()<>]+\.[A-Za-z]{2,}")


class FloatApi:
    """Request handlers over one ``FloatState``."""

    def __init__(self, state: FloatState) -> None:
        self.state = state

    def guard(self, handler: Handler) -> Handler:
        """Authenticate, check the User-Agent, spend the budget; errors in Float's shape."""

        async def endpoint(request: Request) -> Response:
            try:
                token = _bearer(request)
                if token is None or not self.state.authorized(token):
                    raise ApiError(401, "Your request was made with invalid credentials.")
                if not _CONTACT.search(request.headers.get("user-agent", "")):
                    raise bad_request(
                        "Identify your application in the User-Agent header with its name "
                        "and a contact email, e.g. 'Acme Hub (ops@acme.example)'."
                    )
                wait = self.state.spend(token, request.method)
                if wait is not None:
                    raise ApiError(
                        429, "Too many requests by this user.", headers={"Retry-After": f"{wait:g}"}
                    )
                return await handler(request)
            except ApiError as exc:
                return error_response(exc)

        return endpoint

    async def index(self, request: Request) -> Response:
        table = _table(request)
        rows = self.state.records(table)
        return Page(request.query_params).answer(select(rows, table, request.query_params))

    async def show(self, request: Request) -> Response:
        table, record_id = _table(request), request.path_params["id"]
        record = self.state.get(table, record_id) if record_id.isdigit() else None
        if record is None:
            raise not_found(table, record_id)
        return JsonResponse(record)

    async def create(self, request: Request) -> Response:
        table = _table(request)
        record = self.state.create(table, await _body(request))
        location = f"{str(request.base_url).rstrip('/')}{API}/{table}/"
        location += str(record[TABLES[table].id_field])
        return JsonResponse(record, status_code=201, headers={"Location": location})

    async def update(self, request: Request) -> Response:
        table, record_id = _table(request), request.path_params["id"]
        if not record_id.isdigit():
            raise not_found(table, record_id)
        return JsonResponse(self.state.update(table, record_id, await _body(request)))

    async def delete(self, request: Request) -> Response:
        table, record_id = _table(request), request.path_params["id"]
        if not record_id.isdigit():
            raise not_found(table, record_id)
        self.state.delete(table, record_id)
        return Response(status_code=204)


def _table(request: Request) -> str:
    return request.url.path.removeprefix(API + "/").split("/")[0]


_bearer = bearer_token


async def _body(request: Request) -> dict[str, Any]:
    try:
        return await json_object(request, empty_is_object=True)
    except BodyError as exc:
        raise bad_request(
            "Invalid JSON data in request body: Syntax error."
            if exc.reason == "not_json"
            else "The request body must be a JSON object."
        ) from None


def create_app(state: FloatState | None = None, faults: Faults | None = None) -> Starlette:
    """The emulator app. ``app.state.sandbox`` is the state, ``app.state.faults`` the faults."""
    state = state or FloatState()
    faults = faults or Faults()
    api = FloatApi(state)
    routes: list[Route] = [
        Route("/__admin/records/{type}", _admin(state, state.records)),
        Route("/__admin/tombstones/{type}", _admin(state, state.tombstones)),
        Route("/__admin/usage", _usage(state)),
    ]
    for table in TABLES:
        one = f"{API}/{table}/{{id}}"
        routes += [
            Route(f"{API}/{table}", api.guard(api.index), methods=["GET"]),
            Route(f"{API}/{table}", api.guard(api.create), methods=["POST"]),
            Route(one, api.guard(api.show), methods=["GET"]),
            Route(one, api.guard(api.update), methods=["PATCH", "PUT"]),
            Route(one, api.guard(api.delete), methods=["DELETE"]),
        ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, faults=faults, error_body=fault_body)],
    )
    app.state.sandbox = state
    app.state.faults = faults
    return app


def _admin(state: FloatState, read: Callable[[str], list[dict[str, Any]]]) -> Handler:
    async def records(request: Request) -> Response:
        kind = request.path_params["type"]
        if kind not in TABLES:
            return JsonResponse(error_document(404, f"unknown type {kind}"), status_code=404)
        return JsonResponse(read(kind))

    return records


def _usage(state: FloatState) -> Handler:
    async def usage(request: Request) -> Response:
        return JsonResponse(state.usage(request.query_params.get("token") or DEMO_TOKEN))

    return usage
