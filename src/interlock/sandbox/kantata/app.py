"""The Kantata OX v1 emulator as a Starlette app, served under ``/api/v1/``.

Every API answer uses Kantata's envelope, every error its ``errors`` list, and every response
carries ``x-request-id`` (observed on the live API). Paths accept the optional ``.json``
suffix. Request bodies are JSON (Kantata also takes Rails-style form bodies; the emulator
does not).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from interlock.sandbox.faults import FaultMiddleware, Faults
from interlock.sandbox.kantata import queries as q
from interlock.sandbox.kantata.approvals import OUTCOMES
from interlock.sandbox.kantata.envelope import (
    ApiError,
    JsonResponse,
    Page,
    bad_request,
    error,
    error_response,
    fault_body,
    not_found,
)
from interlock.sandbox.kantata.events import shown
from interlock.sandbox.kantata.state import KantataState
from interlock.sandbox.kantata.tables import TABLES
from interlock.sandbox.kantata.views import render, select
from interlock.sandbox.wire import BodyError, bearer_token, json_object

API = "/api/v1"
WRAPPERS: dict[str, tuple[str, int]] = {
    name: table.wrapper for name, table in TABLES.items() if table.wrapper is not None
}
SUBMISSIONS = {
    "timesheet_submissions": "timesheet_submission",
    "expense_report_submissions": "expense_report_submission",
}
Handler = Callable[[Request], Awaitable[Response]]


class JsonSuffix:
    """Treat ``/workspaces.json`` as ``/workspaces``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(".json"):
            scope = {**scope, "path": scope["path"].removesuffix(".json")}
        await self.app(scope, receive, send)


class KantataApi:
    """Request handlers over one ``KantataState``."""

    def __init__(self, state: KantataState) -> None:
        self.state = state

    def guard(self, handler: Handler) -> Handler:
        """Authenticate, throttle, and turn ApiError into Kantata's error body."""

        async def endpoint(request: Request) -> Response:
            try:
                token = _bearer(request)
                if token is None or not self.state.authorized(token):
                    raise ApiError(401, [error("oauth", "Invalid OAuth 2 Request")])
                if not self.state.spend(token):
                    # Kantata documents no Retry-After or rate-limit header [KT-RATE].
                    raise ApiError(429, [error("system", "Too many requests")])
                response = await handler(request)
            except ApiError as exc:
                response = error_response(exc)
            response.headers["x-request-id"] = uuid.uuid4().hex
            return response

        return endpoint

    # -- records ----------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        table = _table(request)
        query = request.query_params
        page = Page(query)
        selected = select(self.state, table, query)
        return render(self.state, table, page.cut(selected), query, total=len(selected), page=page)

    async def show(self, request: Request) -> Response:
        table, record_id = _table(request), request.path_params["id"]
        # A show applies the index's default filters: an archived workspace is a 404 [KT-CONV].
        found = select(self.state, table, {**request.query_params, "only": record_id})
        if not found:
            raise not_found(table, record_id)
        return render(self.state, table, found, request.query_params)

    async def create(self, request: Request) -> Response:
        table = _table(request)
        singular, most = WRAPPERS[table]
        body = await _body(request)
        if isinstance(body.get(table), list):
            bodies = body[table]
            if len(bodies) > most:
                raise bad_request(f"at most {most} {table} can be created at once")
        elif isinstance(body.get(singular), dict):
            bodies = [body[singular]]
        else:
            raise bad_request(f"param is missing or the value is empty: {singular}")
        if not all(isinstance(b, dict) for b in bodies):
            raise bad_request(f"each of {table} must be an object")
        made = self.state.create_many(table, bodies)
        return render(self.state, table, made, request.query_params)

    async def update(self, request: Request) -> Response:
        table = _table(request)
        singular, _ = WRAPPERS[table]
        body = await _body(request)
        if not isinstance(body.get(singular), dict):
            raise bad_request(f"param is missing or the value is empty: {singular}")
        record = self.state.update(table, request.path_params["id"], body[singular])
        return render(self.state, table, [record], request.query_params)

    async def delete(self, request: Request) -> Response:
        self.state.delete(_table(request), request.path_params["id"])
        return Response(status_code=204)

    async def delete_many(self, request: Request) -> Response:
        """``DELETE /time_entries?ids=1,2`` (or body ``{"ids": "1,2"}``): all or nothing."""
        body = await _body(request)
        text = request.query_params.get("ids") or str(body.get("ids") or "")
        ids = q.ids(text)
        if not ids:
            raise bad_request("param is missing or the value is empty: ids")
        self.state.delete_many(_table(request), ids)
        return Response(status_code=204)

    # -- approvals ------------------------------------------------------------------------------

    async def submit(self, request: Request) -> Response:
        table = _table(request)
        body = await _body(request)
        if not isinstance(body.get(SUBMISSIONS[table]), dict):
            raise bad_request(f"param is missing or the value is empty: {SUBMISSIONS[table]}")
        submission, _ = self.state.submit(table, body[SUBMISSIONS[table]])
        return render(self.state, table, [submission], request.query_params)

    async def resolve(self, request: Request) -> Response:
        table, verb = _table(request), request.path_params["verb"]
        if verb not in OUTCOMES:
            raise not_found(table, f"{request.path_params['id']}/{verb}")
        body = await _body(request)
        resolution = body.get("resolution") if isinstance(body.get("resolution"), dict) else {}
        description = resolution.get("description") if resolution else None
        submission, _ = self.state.resolve(
            table,
            request.path_params["id"],
            verb,
            description=None if description is None else str(description),
        )
        return render(self.state, table, [submission], request.query_params)

    # -- external references and events -------------------------------------------------------

    async def create_reference(self, request: Request) -> Response:
        body = await _body(request)
        if not isinstance(body.get("external_reference"), dict):
            raise bad_request("param is missing or the value is empty: external_reference")
        replace = request.url.path.endswith("create_or_update")
        made = self.state.reference(body["external_reference"], replace=replace)
        return render(self.state, "external_references", [made], request.query_params)

    async def delete_reference(self, request: Request) -> Response:
        self.state.delete_reference(request.path_params["id"])
        return Response(status_code=204)

    async def subscribed_events(self, request: Request) -> Response:
        query = request.query_params
        page = Page(query)
        events = self.state.subscribed_events(query)
        wanted = set(q.ids(query.get("optional_fields", "")))
        delivered = [shown(e, wanted) for e in page.cut(events)]
        return render(
            self.state, "subscribed_events", delivered, query, total=len(events), page=page
        )


def _table(request: Request) -> str:
    return request.url.path.removeprefix(API + "/").split("/")[0]


_bearer = bearer_token


async def _body(request: Request) -> dict[str, Any]:
    try:
        return await json_object(request, empty_is_object=True)
    except BodyError as exc:
        raise bad_request(
            "request body is not valid JSON"
            if exc.reason == "not_json"
            else "request body must be a JSON object"
        ) from None


def create_app(state: KantataState | None = None, faults: Faults | None = None) -> Starlette:
    """The emulator app. ``app.state.sandbox`` is the state, ``app.state.faults`` the faults."""
    state = state or KantataState()
    faults = faults or Faults()
    api = KantataApi(state)
    routes: list[Route] = [Route("/__admin/records/{type}", _admin_records(state))]
    for table in WRAPPERS:
        routes += [
            Route(f"{API}/{table}", api.guard(api.index), methods=["GET"]),
            Route(f"{API}/{table}", api.guard(api.create), methods=["POST"]),
            Route(f"{API}/{table}/{{id}}", api.guard(api.show), methods=["GET"]),
            Route(f"{API}/{table}/{{id}}", api.guard(api.update), methods=["PUT"]),
            Route(f"{API}/{table}/{{id}}", api.guard(api.delete), methods=["DELETE"]),
        ]
    routes.append(Route(f"{API}/time_entries", api.guard(api.delete_many), methods=["DELETE"]))
    for table in SUBMISSIONS:
        routes += [
            Route(f"{API}/{table}", api.guard(api.index), methods=["GET"]),
            Route(f"{API}/{table}", api.guard(api.submit), methods=["POST"]),
            Route(f"{API}/{table}/{{id}}", api.guard(api.show), methods=["GET"]),
            Route(
                f"{API}/{table}/{{id}}/{{verb:str}}",
                api.guard(api.resolve),
                methods=["PUT"],
            ),
        ]
    refs = f"{API}/external_references"
    routes += [
        Route(f"{API}/users", api.guard(api.index), methods=["GET"]),
        Route(f"{API}/users/{{id}}", api.guard(api.show), methods=["GET"]),
        Route(refs, api.guard(api.index), methods=["GET"]),
        # Documented: create_or_update. A plain POST is an Interlock assumption (it always
        # creates, so a retried registration makes a second reference).
        Route(refs, api.guard(api.create_reference), methods=["POST"]),
        Route(f"{refs}/create_or_update", api.guard(api.create_reference), methods=["POST"]),
        Route(f"{refs}/{{id}}", api.guard(api.delete_reference), methods=["DELETE"]),
        Route(f"{API}/subscribed_events", api.guard(api.subscribed_events), methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(FaultMiddleware, faults=faults, error_body=fault_body),
            Middleware(JsonSuffix),
        ],
    )
    app.state.sandbox = state
    app.state.faults = faults
    return app


def _admin_records(state: KantataState) -> Handler:
    async def records(request: Request) -> Response:
        kind = request.path_params["type"]
        if kind == "subscribed_events":
            return JsonResponse(state.events())
        if kind not in TABLES:
            return JsonResponse(
                {"errors": [error("system", f"unknown type {kind}")]}, status_code=404
            )
        return JsonResponse(state.records(kind))

    return records
