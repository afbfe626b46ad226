"""Changes of projects and tasks (``project.work``), with what their mapping needs.

A change's payload is the row as Tryton sent it (tagged values kept) plus:
``canonical_id`` (our marker, if any), ``parent_canonical_id``, ``party_canonical_id``,
``currency``, ``done`` (status progress reached 1) and, for projects, ``tasks``.
Projects come as kind ``project``, tasks as kind ``task``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from interlock.connectors.base import ChangePage, NativeChange
from interlock.connectors.tryton import changes, mapping
from interlock.connectors.tryton.changes import Cursor
from interlock.connectors.tryton.rpc import Record, TrytonRpc
from interlock.exceptions import RecordNotFound

FIELDS = [
    "name",
    "type",
    "parent",
    "party",
    "status",
    "status.progress",
    "comment",
    "project_invoice_method",
    "invoice_method",
    "list_price",
    "effort_duration",
    "constraint_start_date",
    "constraint_finish_date",
    "create_date",
    "create_uid",
    "write_uid",
    "last_modified_at",
]


def _customer_markers(rpc: TrytonRpc, parties: set[int]) -> dict[int, str]:
    if not parties:
        return {}
    rows = rpc.search_read(
        "party.identifier",
        [("party", "in", sorted(parties)), ("code", "like", "[interlock:customer:%")],
        ["party", "code"],
    )
    found: dict[int, str] = {}
    for row in rows:
        cid = mapping.marked_id(row["code"], "customer")
        if cid is not None:
            found.setdefault(int(row["party"]), cid)
    return found


def enrich(rpc: TrytonRpc, rows: list[Record], currency: str) -> None:
    """Add the derived keys (see the module docstring) to raw ``project.work`` rows."""
    every = list(rows)
    projects = [r for r in rows if r["type"] == "project"]
    if projects:
        tasks = rpc.search_read(
            "project.work",
            [("parent", "in", [p["id"] for p in projects]), ("type", "=", "task")],
            FIELDS,
            order=[("id", "ASC")],
            decode=False,
        )
        for project in projects:
            project["tasks"] = [t for t in tasks if t["parent"] == project["id"]]
        every += tasks
    parents = {r["parent"] for r in every if r.get("parent")}
    markers = {
        p["id"]: mapping.marked_id(p.get("comment"), "project")
        for p in rpc.read("project.work", sorted(parents), ["comment"])
    }
    parties = _customer_markers(rpc, {r["party"] for r in every if r.get("party")})
    for row in every:
        row["canonical_id"] = mapping.marked_id(row.get("comment"), row["type"])
        row["parent_canonical_id"] = markers.get(row.get("parent") or 0)
        row["party_canonical_id"] = parties.get(row.get("party") or 0)
        row["currency"] = currency
        progress = (row.get("status.") or {}).get("progress")
        row["done"] = progress is not None and float(progress) >= 1.0


def own_write(row: dict[str, Any], user_id: int | None) -> bool:
    """True when the row was last written (or created, if never written) by ``user_id``."""
    author = row.get("write_uid") or row.get("create_uid")
    return user_id is not None and author == user_id


def _to_change(row: Record) -> NativeChange:
    return NativeChange(
        kind=str(row["type"]),
        native_id=str(row["id"]),
        version=changes.version(row),
        changed_at=changes.stamp(row),
        payload=row,
    )


def current(rpc: TrytonRpc, work: int, kind: str, currency: str) -> NativeChange:
    """The project or task ``work`` as it is now. Raises RecordNotFound."""
    rows = rpc.search_read(
        "project.work", [("id", "=", work), ("type", "=", kind)], FIELDS, decode=False
    )
    if not rows:
        raise RecordNotFound(rpc.system, f"no {kind} {work}")
    enrich(rpc, rows, currency)
    return _to_change(rows[0])


def _deleted(rpc: TrytonRpc, cursor: Cursor) -> list[NativeChange]:
    current = {
        kind: set(rpc.search("project.work", [("type", "=", kind)])) for kind in ("project", "task")
    }
    gone: list[NativeChange] = []
    now = dt.datetime.now(dt.UTC)
    for kind, ids in (cursor.known or {}).items():
        for native in sorted(ids - current.get(kind, set())):
            payload = {"id": native, "type": kind}
            gone.append(NativeChange(kind, str(native), "deleted", now, payload, deleted=True))
    cursor.known = current
    return gone


def read(
    rpc: TrytonRpc,
    cursor: Cursor,
    limit: int,
    *,
    overlap: float,
    currency: str,
    skip_own: bool,
) -> ChangePage:
    """One page of project and task changes after ``cursor`` (updated), oldest first."""
    start = changes.since(cursor, overlap)
    domain = [("last_modified_at", ">=", start)] if start else []
    query_limit = limit + len(cursor.seen)
    rows = rpc.search_read(
        "project.work",
        domain,
        FIELDS,
        order=[("last_modified_at", "ASC"), ("id", "ASC")],
        limit=query_limit,
        decode=False,
    )
    new = changes.fresh(cursor, rows)
    page, more = new[:limit], len(new) > limit or len(rows) == query_limit
    changes.advance(cursor, page, overlap)
    kept = [r for r in page if not (skip_own and own_write(r, rpc.user_id))]
    enrich(rpc, kept, currency)
    found = [_to_change(r) for r in kept]
    if not more:
        found += _deleted(rpc, cursor)
    return ChangePage(found, cursor.dump(), more=more)
