"""Reading Kantata's wire format: the keyed envelope and the ``errors`` body."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from interlock.connectors.http import expect

Record = dict[str, Any]


def read_error(response: httpx.Response) -> tuple[str, str | None, tuple[str, ...]]:
    """``{"errors": [{"type", "message", "field"?}]}`` → (messages, first type, fields)."""
    errors = orjson.loads(response.content)["errors"]
    messages = "; ".join(str(e.get("message", "")) for e in errors) or "no message"
    fields = tuple(str(e["field"]) for e in errors if e.get("field"))
    return messages, (str(errors[0].get("type")) if errors else None), fields


def records(system: str, body: Any, key: str) -> list[Record]:
    """The objects of ``key`` in ``results`` order (includes of the same type left out)."""
    expect(system, isinstance(body, dict), "body is not a JSON object")
    results = body.get("results")
    objects = body.get(key, {})
    expect(
        system,
        isinstance(results, list) and isinstance(objects, dict),
        f"envelope without results or {key}",
    )
    found: list[Record] = []
    for ref in results:
        expect(
            system,
            isinstance(ref, dict) and "key" in ref and "id" in ref,
            "results entry without key and id",
        )
        if ref["key"] != key:
            continue
        obj = objects.get(str(ref["id"]))
        expect(system, isinstance(obj, dict), f"{key} {ref['id']} listed but not included")
        found.append(obj)
    return found


def included(body: Any, key: str) -> dict[str, Record]:
    """Side-loaded objects of ``key`` by id."""
    objects = body.get(key, {}) if isinstance(body, dict) else {}
    return {str(k): v for k, v in objects.items() if isinstance(v, dict)}


def page_count(system: str, body: Any) -> int:
    """``meta.page_count`` of an envelope."""
    meta = body.get("meta") if isinstance(body, dict) else None
    expect(
        system,
        isinstance(meta, dict) and isinstance(meta.get("page_count"), int),
        "envelope without meta.page_count",
    )
    assert isinstance(meta, dict)
    return int(meta["page_count"])
