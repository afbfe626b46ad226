"""Admin endpoints of the sandbox (no session needed, never faulted, not counted).

- ``GET /__admin/records/{sobject}``: every record of a type, deleted ones included.
- ``POST /__admin/cdc/subscribers`` ``{"url", "channel", "replay_from"?}``: push a channel's
  change events to ``url`` (201, the subscriber); ``GET`` lists subscribers; ``DELETE
  /__admin/cdc/subscribers/{id}`` stops one.
- ``GET /__admin/cdc/events?channel=&replay_from=&limit=``: pull retained events
  (``{"channel", "events", "latestReplayId"}``); ``replay_from`` -2 (default) = all retained,
  -1 = none, n = after replay id n.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from interlock.sandbox.salesforce.calls import type_name
from interlock.sandbox.salesforce.cdc import ALL_CHANNEL, ALL_RETAINED
from interlock.sandbox.salesforce.errors import ApiError, error_item
from interlock.sandbox.salesforce.results import json_response, render
from interlock.sandbox.salesforce.state import SalesforceState


def _state(request: Request) -> SalesforceState:
    state: SalesforceState = request.app.state.sandbox
    return state


def _bad(message: str) -> ApiError:
    return ApiError(400, "INVALID_INPUT", message)


async def records(request: Request) -> Response:
    try:
        name = type_name(request.path_params["sobject"])
    except ApiError as exc:
        return json_response(exc.body(), exc.status)
    rows = _state(request).records(name, include_deleted=True)
    return json_response([render(name, r, "62.0") for r in rows])


async def subscribers(request: Request) -> Response:
    state = _state(request)
    if request.method == "GET":
        return json_response([s.describe() for s in state.subscriptions.all()])
    try:
        data: Any = orjson.loads(await request.body())
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise _bad("body must be {'url': ..., 'channel': ...}")
        if not data["url"].startswith(("http://", "https://")):
            raise _bad("url must be an http(s) URL")
        replay_from = data.get("replay_from")
        if replay_from is not None and (
            isinstance(replay_from, bool) or not isinstance(replay_from, int)
        ):
            raise _bad("replay_from must be an integer")
        sub = state.subscriptions.subscribe(
            data["url"], str(data.get("channel", ALL_CHANNEL)), replay_from
        )
    except orjson.JSONDecodeError:
        return json_response([error_item("body is not JSON", "JSON_PARSER_ERROR")], 400)
    except ApiError as exc:
        return json_response(exc.body(), exc.status)
    return json_response(sub.describe(), 201)


async def unsubscribe(request: Request) -> Response:
    if _state(request).subscriptions.unsubscribe(request.path_params["sub_id"]):
        return Response(status_code=204)
    return json_response([error_item("no such subscriber", "NOT_FOUND")], 404)


async def events(request: Request) -> Response:
    state = _state(request)
    params = request.query_params
    channel = params.get("channel", ALL_CHANNEL)
    try:
        replay_from = int(params.get("replay_from", ALL_RETAINED))
        limit = int(params.get("limit", 1000))
        found = state.changes.events(channel, replay_from, max(1, limit))
    except ValueError:
        return json_response(
            [error_item("replay_from and limit are integers", "INVALID_INPUT")], 400
        )
    except ApiError as exc:
        return json_response(exc.body(), exc.status)
    return json_response(
        {"channel": channel, "events": found, "latestReplayId": state.changes.latest_replay_id}
    )
