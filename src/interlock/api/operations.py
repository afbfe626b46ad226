"""API routes for operators: exceptions and their actions, holds, replay (``/api/v1``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from interlock.exceptions import ContractViolation, InterlockError
from interlock.store import Store, exception_queue, holds

if TYPE_CHECKING:
    from interlock.runtime import Hub

Endpoint = Callable[[Request], Awaitable[Response]]


def operation_routes(
    store: Store,
    hub: Hub | None,
    json: Callable[..., Response],
    problem: Callable[[int, str, str], Response],
) -> list[Route]:
    """The operator routes; ``json`` and ``problem`` build responses like the rest of the API."""
    from interlock.engine import actions

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        data = orjson.loads(raw) if raw else {}
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data

    def actor_of(data: dict[str, Any]) -> str:
        actor = data.get("actor")
        if not isinstance(actor, str) or not actor.strip():
            raise ValueError("actor: required (who acts; it is audited)")
        return actor.strip()

    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except ContractViolation as exc:
                response = problem(422, "invalid edit", exc.message)
                payload = orjson.loads(response.body)
                payload["problems"] = [{"field": p.field, "rule": p.rule} for p in exc.problems]
                return json(payload, status_code=422)
            except actions.ActionRefused as exc:
                return problem(409, "action refused", exc.message)
            except (ValueError, orjson.JSONDecodeError) as exc:
                return problem(400, "bad request", str(exc))
            except InterlockError as exc:
                return problem(503, "unavailable", exc.message)

        return endpoint

    async def list_exceptions(request: Request) -> Response:
        params = request.query_params
        with store.transaction("listing exceptions") as conn:
            items = exception_queue.listing(
                conn, status=params.get("status"), team=params.get("team"), flow=params.get("flow")
            )
        return json({"items": items, "count": len(items)})

    async def show_exception(request: Request) -> Response:
        with store.transaction("reading an exception") as conn:
            found = exception_queue.get(conn, int(request.path_params["id"]))
        return json(found) if found else problem(404, "not found", "no such exception")

    async def act(request: Request) -> Response:
        exception_id = int(request.path_params["id"])
        action = request.path_params["action"]
        data = await body(request)
        actor = actor_of(data)
        if action == "retry":
            return json(actions.retry(store, exception_id, actor))
        if action == "skip":
            return json(actions.skip(store, exception_id, actor, data.get("note")))
        if action == "resolve":
            return json(actions.resolve(store, exception_id, actor, data.get("note")))
        if action == "edit":
            if hub is None:
                return problem(503, "unavailable", "edit needs the topology (serve --topology)")
            payload = data.get("payload")
            if not isinstance(payload, dict):
                raise ValueError("payload: required, a JSON object")
            flows = {flow.name: flow for flow in hub.flows}
            return json(
                actions.edit_and_retry(store, exception_id, actor, payload, flows, hub.systems)
            )
        return problem(404, "not found", f"no action {action!r}")

    async def list_holds(request: Request) -> Response:
        status = request.query_params.get("status", holds.ACTIVE)
        with store.transaction("listing holds") as conn:
            items = holds.listing(
                conn,
                status=None if status == "all" else status,
                key=request.query_params.get("key"),
            )
        return json({"items": items, "count": len(items)})

    async def release(request: Request) -> Response:
        data = await body(request)
        return json(
            actions.release_hold(
                store, int(request.path_params["id"]), actor_of(data), data.get("note")
            )
        )

    async def replay_events(request: Request) -> Response:
        from interlock.engine.replay import ReplayFilter, replay

        if hub is None:
            return problem(503, "unavailable", "replay needs the topology (serve --topology)")
        data = await body(request)
        moments = {k: dt.datetime.fromisoformat(data[k]) for k in ("since", "until") if data.get(k)}
        where = ReplayFilter(
            type=data.get("type"), subject=data.get("subject"), source=data.get("source"), **moments
        )
        items = replay(
            store,
            where,
            hub.flows,
            hub.systems,
            hub.roles,
            actor=actor_of(data),
            dry_run=bool(data.get("dry_run", False)),
        )
        return json(
            {
                "dry_run": bool(data.get("dry_run", False)),
                "count": len(items),
                "items": [item.__dict__ for item in items],
            }
        )

    return [
        Route("/api/v1/exceptions", guarded(list_exceptions)),
        Route("/api/v1/exceptions/{id:int}", guarded(show_exception)),
        Route("/api/v1/exceptions/{id:int}/{action}", guarded(act), methods=["POST"]),
        Route("/api/v1/holds", guarded(list_holds)),
        Route("/api/v1/holds/{id:int}/release", guarded(release), methods=["POST"]),
        Route("/api/v1/replay", guarded(replay_events), methods=["POST"]),
    ]
