"""The HTTP API: health, readiness, status and runs (``/api/v1``)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from interlock.api.operations import operation_routes
from interlock.exceptions import StoreError
from interlock.status import run_detail, summary
from interlock.store import Store, runs
from interlock.store.migrate import current

if TYPE_CHECKING:
    from interlock.runtime import Hub


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError


class JSON(Response):
    """JSON response that knows datetimes and decimals."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise ``content``."""
        return orjson.dumps(content, default=_default)


def problem(status: int, title: str, detail: str) -> JSON:
    """An RFC 9457 problem response."""
    return JSON(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        headers={"Content-Type": "application/problem+json"},
    )


def create_api(store: Store, hub: Hub | None = None) -> Starlette:
    """The API app over ``store``; with ``hub`` (a topology) edit and replay are available."""

    async def healthz(_: Request) -> Response:
        return JSON({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            revision = current(store.engine)
        except Exception:  # noqa: BLE001 - any failure means not ready
            return problem(503, "not ready", "the database cannot be reached")
        if revision is None:
            return problem(503, "not ready", "the database is not migrated: interlock db upgrade")
        return JSON({"status": "ready", "schema": revision})

    async def status(_: Request) -> Response:
        try:
            with store.transaction("reading status") as conn:
                return JSON(summary(conn))
        except StoreError as exc:
            return problem(503, "store unavailable", exc.message)

    async def list_runs(request: Request) -> Response:
        limit = min(int(request.query_params.get("limit", "100")), 1000)
        with store.transaction("listing runs") as conn:
            items = runs.listing(
                conn,
                status=request.query_params.get("status"),
                flow=request.query_params.get("flow"),
                limit=limit,
            )
        return JSON({"items": items, "count": len(items)})

    async def show_run(request: Request) -> Response:
        with store.transaction("reading a run") as conn:
            detail = run_detail(conn, request.path_params["run_id"])
        if detail is None:
            return problem(404, "not found", "no such run")
        return JSON(detail)

    return Starlette(
        routes=[
            *operation_routes(store, hub, JSON, problem),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/api/v1/status", status),
            Route("/api/v1/runs", list_runs),
            Route("/api/v1/runs/{run_id}", show_run),
        ]
    )
