"""Batched upserts with sObject Collections: 200 records per call, one API request each.

``PATCH /composite/sobjects/Account/Hub_Id__c`` with ``allOrNone: false``: one bad record
does not hold back the others. Results come back in request order. When records fail, the
others are still written, and a ``RecordRejected`` names every failure (canonical id, error
code, message); calling again is safe, since the upsert is keyed by the canonical id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from interlock.connectors.base import UpsertResult
from interlock.connectors.http import VendorHttp, expect
from interlock.exceptions import RecordRejected, Team

CHUNK = 200


def upsert_collection(
    http: VendorHttp,
    url: str,
    sobject: str,
    external_field: str,
    records: Sequence[tuple[str, dict[str, Any]]],
) -> list[UpsertResult]:
    """Upsert ``(external id, fields)`` pairs in chunks; results in input order."""
    results: list[UpsertResult] = []
    failures: list[tuple[str, dict[str, Any]]] = []
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        body = {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": sobject}, **fields, external_field: key}
                for key, fields in chunk
            ],
        }
        answer = http.json(http.request("PATCH", url, json=body))
        expect(
            http.system,
            isinstance(answer, list)
            and len(answer) == len(chunk)
            and all(isinstance(r, dict) for r in answer),
            "collection upsert did not answer one result per record",
        )
        for (key, _), result in zip(chunk, answer, strict=True):
            if result.get("success") is True and isinstance(result.get("id"), str):
                results.append(UpsertResult(result["id"], created=bool(result.get("created"))))
            else:
                failures.append((key, result))
    if failures:
        raise _rejected(http.system, sobject, failures)
    return results


def _rejected(
    system: str, sobject: str, failures: list[tuple[str, dict[str, Any]]]
) -> RecordRejected:
    errors = [(key, (r.get("errors") or [{}])[0]) for key, r in failures]
    listed = "; ".join(
        f"{key}: {e.get('statusCode', 'UNKNOWN')} {e.get('message', '')}".strip()
        for key, e in errors[:10]
    )
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    first = errors[0][1]
    error = RecordRejected(
        system,
        f"{len(errors)} {sobject} records refused: {listed}{more}",
        status=400,
        code=str(first.get("statusCode")) if first.get("statusCode") else None,
        fields=tuple(str(f) for f in first.get("fields") or ()),
    )
    if any(e.get("statusCode") == "DUPLICATE_EXTERNAL_ID" for _, e in errors):
        error.team = Team.SALES_OPS
    return error
