"""Change Data Capture: pushed change events → ``NativeChange`` s, and the endpoint receiving them.

A push is ``{"channel", "events": [{"schema", "payload": {"ChangeEventHeader": {...},
<changed fields>}, "event": {"replayId": n}}]}`` (the CometD event shape). Events carry only
the fields that changed, while the hub maps whole records, so each changed record is read
back: an opportunity with its Account and SOW lines, like ``read_changes`` (``queryAll``, so a
deleted record still comes back while it is in the recycle bin). A ``SOW_Line__c`` event
becomes a change of its opportunity. Several events for one record in a push become one
change (the record's state now), placed where its last event was; ``version`` is
``<commitTimestamp>-<replayId>`` of that event, and the events themselves travel in the
payload under ``ChangeEvents`` (``is_own_change`` reads their ``changeOrigin``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlock.connectors.base import NativeChange
from interlock.connectors.salesforce.changes import (
    ACCOUNT_FIELDS,
    OPPORTUNITY_FIELDS,
    Query,
    opportunity_bundles,
    related,
)
from interlock.exceptions import ConnectorError, MalformedResponse

if TYPE_CHECKING:
    from interlock.connectors.salesforce.client import SalesforceConnector

log = logging.getLogger("interlock.connectors.salesforce")
Sink = Callable[[list[NativeChange]], None]
KINDS = {"Opportunity": "opportunity", "Account": "customer", "SOW_Line__c": "opportunity"}
DELETES = frozenset({"DELETE", "GAP_DELETE"})


@dataclass
class _Touched:
    kind: str
    native_id: str
    events: list[dict[str, Any]] = field(default_factory=list)


def read_events(body: bytes | str | Mapping[str, Any], system: str) -> list[dict[str, Any]]:
    """The events of a push, checked for what the hub relies on. Raises MalformedResponse."""
    try:
        data = orjson.loads(body) if isinstance(body, (bytes, str)) else body
    except orjson.JSONDecodeError:
        raise MalformedResponse(system, "change event push is not JSON") from None
    events = data.get("events") if isinstance(data, Mapping) else None
    if not isinstance(events, list):
        raise MalformedResponse(system, "change event push lacks an 'events' list")
    for index, event in enumerate(events):
        header = _header(event)
        replay = event.get("event", {}).get("replayId") if isinstance(event, dict) else None
        if (
            header is None
            or not isinstance(header.get("entityName"), str)
            or not isinstance(header.get("recordIds"), list)
            or not isinstance(header.get("commitTimestamp"), int)
            or not isinstance(replay, int)
        ):
            raise MalformedResponse(
                system,
                f"change event {index} lacks ChangeEventHeader entityName, recordIds, "
                "commitTimestamp or event.replayId",
            )
    return events


def changes_from_events(
    query: Query, system: str, events: list[dict[str, Any]]
) -> list[NativeChange]:
    """Read back the records the events name; one change per record, in event order."""
    touched: dict[tuple[str, str], _Touched] = {}
    lines: list[tuple[str, dict[str, Any]]] = []
    for event in events:
        header = _header(event) or {}
        entity = str(header["entityName"])
        for record_id in (str(r) for r in header["recordIds"]):
            if entity == "SOW_Line__c":
                lines.append((record_id, event))
            elif entity in KINDS and "*" not in record_id:
                _touch(touched, KINDS[entity], record_id, event)
    for parent, event in _line_parents(query, lines):
        _touch(touched, "opportunity", parent, event)
    opportunities = _read(query, "Opportunity", OPPORTUNITY_FIELDS, touched, "opportunity")
    bundles = opportunity_bundles(query, list(opportunities.values()))
    accounts = _read(query, "Account", ACCOUNT_FIELDS, touched, "customer")
    changes: list[NativeChange] = []
    for item in touched.values():
        if item.kind == "opportunity":
            payload = bundles.get(item.native_id)
        else:
            account = accounts.get(item.native_id)
            payload = {"Account": account} if account is not None else None
        change = _change(item, payload)
        if change is not None:
            changes.append(change)
    return changes


def _header(event: Any) -> dict[str, Any] | None:
    payload = event.get("payload") if isinstance(event, dict) else None
    header = payload.get("ChangeEventHeader") if isinstance(payload, dict) else None
    return header if isinstance(header, dict) else None


def _touch(
    touched: dict[tuple[str, str], _Touched], kind: str, native_id: str, event: dict[str, Any]
) -> None:
    item = touched.pop((kind, native_id), None) or _Touched(kind, native_id)
    item.events.append(event)
    touched[(kind, native_id)] = item  # re-inserted: ordered by its latest event


def _line_parents(
    query: Query, lines: list[tuple[str, dict[str, Any]]]
) -> list[tuple[str, dict[str, Any]]]:
    """(opportunity id, event) of SOW line events; parents not in the event are read back."""
    known = {
        line_id: str(event["payload"]["Opportunity__c"])
        for line_id, event in lines
        if isinstance(event["payload"].get("Opportunity__c"), str)
    }
    missing = {line_id for line_id, _ in lines if line_id not in known}
    for line in related(
        query, "SOW_Line__c", ("Id", "Opportunity__c"), "Id", missing, "Id ASC", True
    ):
        known[str(line["Id"])] = str(line.get("Opportunity__c"))
    return [(known[line_id], event) for line_id, event in lines if line_id in known]


def _read(
    query: Query,
    sobject: str,
    fields: tuple[str, ...],
    touched: dict[tuple[str, str], _Touched],
    kind: str,
) -> dict[str, dict[str, Any]]:
    wanted = (item.native_id for item in touched.values() if item.kind == kind)
    return {str(r["Id"]): r for r in related(query, sobject, fields, "Id", wanted, "Id ASC", True)}


def _change(item: _Touched, payload: dict[str, Any] | None) -> NativeChange | None:
    last = item.events[-1]
    header = last["payload"]["ChangeEventHeader"]
    deleted_by_event = header.get("changeType") in DELETES
    if payload is None:
        if not deleted_by_event:
            return None  # gone from the recycle bin too: nothing left to map
        record_key = "Opportunity" if item.kind == "opportunity" else "Account"
        payload = {record_key: {"Id": item.native_id, "IsDeleted": True}}
    record = payload.get("Opportunity") or payload.get("Account") or {}
    commit_ms = int(header["commitTimestamp"])
    return NativeChange(
        kind=item.kind,
        native_id=item.native_id,
        version=f"{commit_ms}-{last['event']['replayId']}",
        changed_at=dt.datetime.fromtimestamp(commit_ms / 1000, tz=dt.UTC),
        payload={**payload, "ChangeEvents": item.events},
        deleted=bool(record.get("IsDeleted")),
    )


def client_of(change_origin: str) -> str | None:
    """The ``client=`` part of a ``changeOrigin``, or None."""
    for part in change_origin.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip() == "client":
            return value.strip()
    return None


def cdc_app(connector: SalesforceConnector, sink: Sink) -> Starlette:
    """An ASGI app receiving change event pushes at ``POST /`` and handing them to ``sink``.

    Answers 200 ``{"received": n}`` only after ``sink`` returned, so a push is acknowledged
    once the changes are safe; 400 for a body that is not a push (it will not get better),
    503 when reading the records back from Salesforce failed and 500 when ``sink`` raised
    (the sender retries both). Own changes are *not* filtered: use
    ``connector.is_own_change``.
    """

    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            changes = await run_in_threadpool(connector.parse_cdc, body)
        except MalformedResponse as exc:
            return JSONResponse({"error": exc.message}, 400)
        except ConnectorError as exc:
            return JSONResponse({"error": exc.message}, 503)
        try:
            await run_in_threadpool(sink, changes)
        except Exception:  # the sink is the caller's code: anything may fail in it
            log.exception("change event sink failed; the push will be retried")
            return JSONResponse({"error": "sink failed"}, 500)
        return JSONResponse({"received": len(changes)})

    return Starlette(routes=[Route("/", receive, methods=["POST"])])
