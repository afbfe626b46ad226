"""Example CRM's REST API as a Starlette app: the vendor the connector guide writes against.

The wire format, in full:

- Auth: ``Authorization: Bearer <api key>``; otherwise 401 ``unauthorized``.
- ``GET /api/me``: the account the key belongs to.
- ``GET /api/companies`` and ``GET /api/deals``: ``{"data": [...], "next_cursor": str|null}``,
  ordered by ``updated_at`` then ``id``. Parameters: ``limit`` (1-100, default 50),
  ``cursor`` (the ``next_cursor`` of the previous page), ``updated_since`` (ISO 8601,
  inclusive), ``include_deleted=true`` (tombstones too), ``external_id`` (exact match; new
  records show up after the search lag), ``expand=company`` (deals: embed the company).
- ``GET /api/{resource}/{id}``: one record; 404 ``not_found`` when missing or deleted.
- ``POST /api/{resource}``: 201 with the record. An ``Idempotency-Key`` header makes a repeat
  with the same key and body answer the first response again, with
  ``Idempotent-Replayed: true``; the same key with another body is 422.
- ``PATCH /api/{resource}/{id}``: 200 with the record; ``version`` goes up.
- ``DELETE /api/{resource}/{id}``: 204; the record becomes a tombstone (``deleted: true``).
- Errors: ``{"error": {"code", "message", "field"}}``; 422 names the field. Past the request
  budget: 429 ``rate_limited`` with ``Retry-After`` in seconds.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from interlock.sandbox.example.records import RESOURCES, ApiError, Record, error_body
from interlock.sandbox.example.state import ExampleCrmState, stamp
from interlock.sandbox.faults import FaultMiddleware, Faults
from interlock.sandbox.wire import BodyError, json_object

Handler = Callable[[Request], Awaitable[Response]]
MAX_LIMIT = 100
_FAULTS = {429: "rate_limited", 500: "internal_error", 502: "bad_gateway", 503: "unavailable"}


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(content), status, headers, media_type="application/json")


def fault_body(status: int) -> bytes:
    return error_body(_FAULTS.get(status, "error"), f"injected HTTP {status}")


class ExampleCrmApi:
    """Request handlers over one ``ExampleCrmState``."""

    def __init__(self, state: ExampleCrmState) -> None:
        self.state = state

    def guard(self, handler: Handler) -> Handler:
        """Authenticate, spend the request budget, and answer ApiError as the error body."""

        async def endpoint(request: Request) -> Response:
            scheme, _, key = request.headers.get("authorization", "").partition(" ")
            try:
                if scheme.lower() != "bearer" or not self.state.authorized(key.strip()):
                    raise ApiError(401, "unauthorized", "missing or unknown API key")
                wait = self.state.spend(key.strip())
                if wait is not None:
                    retry = {"Retry-After": str(int(wait))}
                    raise ApiError(429, "rate_limited", "request budget spent", headers=retry)
                return await handler(request)
            except ApiError as exc:
                return Response(exc.body(), exc.status, exc.headers, media_type="application/json")

        return endpoint

    async def me(self, request: Request) -> Response:
        return json_response({"account": "Example CRM sandbox", "user": "integration"})

    async def index(self, request: Request) -> Response:
        resource, query = _resource(request), request.query_params
        records, more = self.state.listing(
            resource,
            since=_since(query.get("updated_since")),
            after=_cursor(query.get("cursor")),
            limit=_limit(query.get("limit")),
            include_deleted=query.get("include_deleted") == "true",
            external_id=query.get("external_id"),
        )
        next_cursor = _encode(records[-1]) if more else None
        shown = [self._shown(resource, r, query.get("expand")) for r in records]
        return json_response({"data": shown, "next_cursor": next_cursor})

    async def show(self, request: Request) -> Response:
        resource, record_id = _resource(request), request.path_params["id"]
        record = self.state.get(resource, record_id)
        if record is None or record["deleted"]:
            raise ApiError(404, "not_found", f"no {resource} record {record_id!r}")
        return json_response(self._shown(resource, record, request.query_params.get("expand")))

    async def create(self, request: Request) -> Response:
        resource, body = _resource(request), await _body(request)
        key = request.headers.get("idempotency-key")
        record, replayed = self.state.create(resource, body, idempotency_key=key)
        await asyncio.sleep(self.state.write_delay_seconds)
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return json_response(record, 201, headers)

    async def update(self, request: Request) -> Response:
        resource, body = _resource(request), await _body(request)
        record = self.state.update(resource, request.path_params["id"], body)
        await asyncio.sleep(self.state.write_delay_seconds)
        return json_response(record)

    async def delete(self, request: Request) -> Response:
        self.state.delete(_resource(request), request.path_params["id"])
        return Response(status_code=204)

    def _shown(self, resource: str, record: Record, expand: str | None) -> Record:
        return (
            self.state.expanded(record) if resource == "deals" and expand == "company" else record
        )


def _resource(request: Request) -> str:
    resource = str(request.path_params["resource"])
    if resource not in RESOURCES:
        raise ApiError(404, "not_found", f"no resource {resource!r}")
    return resource


async def _body(request: Request) -> Record:
    try:
        return await json_object(request)
    except BodyError as exc:
        message = (
            "the body is not JSON" if exc.reason == "not_json" else "the body must be a JSON object"
        )
        raise ApiError(400, "bad_request", message) from None


def _limit(value: str | None) -> int:
    if value is None:
        return 50
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise ApiError(422, "invalid", f"limit must be 1 to {MAX_LIMIT}", "limit")
    return int(value)


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "invalid", "updated_since must be ISO 8601", "updated_since") from None
    return stamp(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def _encode(record: Record) -> str:
    position = orjson.dumps([record["updated_at"], record["id"]])
    return base64.urlsafe_b64encode(position).decode()


def _cursor(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    try:
        updated_at, record_id = orjson.loads(base64.urlsafe_b64decode(value.encode()))
        return str(updated_at), str(record_id)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        raise ApiError(422, "invalid", "cursor is not one this API issued", "cursor") from None


def create_app(state: ExampleCrmState | None = None, faults: Faults | None = None) -> Starlette:
    """The emulator app. ``app.state.sandbox`` is the state, ``app.state.faults`` the faults."""
    state = state or ExampleCrmState()
    faults = faults or Faults()
    api = ExampleCrmApi(state)
    routes = [
        Route("/__admin/records/{resource}", _admin_records(state), methods=["GET"]),
        Route("/api/me", api.guard(api.me), methods=["GET"]),
        Route("/api/{resource}", api.guard(api.index), methods=["GET"]),
        Route("/api/{resource}", api.guard(api.create), methods=["POST"]),
        Route("/api/{resource}/{id}", api.guard(api.show), methods=["GET"]),
        Route("/api/{resource}/{id}", api.guard(api.update), methods=["PATCH"]),
        Route("/api/{resource}/{id}", api.guard(api.delete), methods=["DELETE"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, faults=faults, error_body=fault_body)],
    )
    app.state.sandbox = state
    app.state.faults = faults
    return app


def _admin_records(state: ExampleCrmState) -> Handler:
    async def records(request: Request) -> Response:
        resource = request.path_params["resource"]
        if resource not in RESOURCES:
            body = error_body("not_found", f"no resource {resource!r}")
            return Response(body, 404, media_type="application/json")
        return json_response(state.records(resource, include_deleted=True))

    return records
