"""The Example CRM connector: reads deals and companies, writes customers as companies.

The connector guide (docs/connector-guide.md) walks through this file step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel

from interlock.connectors.base import ChangePage, Connector, NativeChange, UpsertResult
from interlock.connectors.example import mapping
from interlock.connectors.example.auth import ApiKey
from interlock.connectors.example.changes import Position
from interlock.connectors.example.config import ExampleCrmConfig
from interlock.connectors.http import VendorHttp, expect
from interlock.model import Customer

Record = dict[str, Any]
RESOURCES = {"opportunity": "deals", "customer": "companies"}
"""Canonical kind → Example CRM resource."""


def read_error(response: httpx.Response) -> tuple[str, str | None, tuple[str, ...]]:
    """``{"error": {"code", "message", "field"}}`` → (message, code, fields)."""
    error = orjson.loads(response.content)["error"]
    field = error.get("field")
    return str(error["message"]), error.get("code"), (str(field),) if field else ()


def content_digest(fields: Mapping[str, Any]) -> str:
    """A digest of record fields that does not depend on their order."""
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


def idempotency_key(canonical: str, body: Mapping[str, Any]) -> str:
    """The key of a create: the same record sends the same key, a changed one a new key.

    The content hash is part of it because the API refuses a key reused with another body.
    """
    return f"{canonical}:{content_digest(body)[:16]}"


class ExampleCrmConnector(Connector):
    """Example CRM over its REST API.

    Reads ``opportunity`` (deal) and ``customer`` (company) changes by polling
    ``updated_since``; writes customers as companies, found by ``external_id``.

    Args:
        system: Name of this system in the topology.
        config: Connection settings.
    """

    type: ClassVar[str] = "example_crm"
    kinds: ClassVar[frozenset[str]] = frozenset({"opportunity", "customer"})

    def __init__(self, system: str, config: ExampleCrmConfig) -> None:
        super().__init__(system)
        self.config = config
        self._key = ApiKey(config.api_key)
        self._http = VendorHttp(
            system,
            config.base_url.rstrip("/") + "/api/",
            read_error=read_error,
            timeout=config.timeout_seconds,
            auth_headers=self._key.headers,
            headers={"Accept": "application/json"},
            limits=config,  # the quota fields every ConnectorConfig has
        )

    def authenticate(self) -> None:
        """Check the key now with one cheap read. Raises AuthenticationFailed."""
        self._call("GET", "me")

    # -- reading ----------------------------------------------------------------------------

    def read_changes(self, kind: str, cursor: str | None, limit: int = 200) -> ChangePage:
        """Records of ``kind`` changed after ``cursor``, oldest first, deletions included."""
        resource = self._resource(kind)
        after = Position.decode(self.system, cursor) if cursor else None
        params: dict[str, Any] = {
            "include_deleted": "true",
            "limit": min(self.config.page_size, limit + 1),
        }
        if kind == "opportunity":
            params["expand"] = "company"
        if after is not None:
            # Inclusive: records sharing the last stamp are listed again and skipped below.
            params["updated_since"] = after.updated_at.isoformat()
        picked: list[Record] = []
        for record in self._pages(resource, params):
            if after is not None and Position.of(self.system, record) <= after:
                continue
            picked.append(record)
            if len(picked) > limit:
                break  # one more than asked for says whether there is more
        delivered = picked[:limit]
        changes = [self._change(kind, record) for record in delivered]
        new_cursor = Position.of(self.system, delivered[-1]).encode() if delivered else cursor
        return ChangePage(changes=changes, cursor=new_cursor, more=len(picked) > limit)

    def get(self, kind: str, native_id: str) -> NativeChange:
        """The current record, as a change. Raises RecordNotFound (also once deleted)."""
        resource = self._resource(kind)
        params = {"expand": "company"} if kind == "opportunity" else {}
        record = self._call("GET", f"{resource}/{quote(native_id, safe='')}", params=params)
        return self._change(kind, record)

    def classify(self, change: NativeChange) -> str:
        """``won`` for a won deal, else ``changed`` or ``deleted``."""
        if change.deleted:
            return "deleted"
        if change.kind == "opportunity" and change.payload.get("stage") == "won":
            return "won"
        return "changed"

    def related(self, change: NativeChange, kind: str) -> NativeChange | None:
        """The company embedded in a deal, as a customer change."""
        company = change.payload.get("company")
        if change.kind != "opportunity" or kind != "customer" or not isinstance(company, dict):
            return None
        return self._change("customer", company)

    def to_canonical(self, change: NativeChange) -> BaseModel:
        """Map a deal or a company. Raises ContractViolation naming Example CRM fields."""
        if change.kind == "opportunity":
            return mapping.opportunity_from_deal(change.payload, self.system)
        if change.kind == "customer":
            return mapping.customer_from_company(change.payload, self.system)
        return super().to_canonical(change)

    # -- writing ----------------------------------------------------------------------------

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        """Create or update the company of a canonical customer, keyed by its canonical id."""
        if kind != "customer" or not isinstance(record, Customer):
            return super().upsert(kind, record, refs)
        body = mapping.company_from_customer(record)
        existing = self._company_for(record.id)
        if existing is not None:
            changed = mapping.changed_fields(existing, body)
            if changed:
                self._call("PATCH", f"companies/{existing['id']}", json=changed)
            return UpsertResult(native_id=str(existing["id"]), created=False)
        key = idempotency_key(record.id, body)
        response = self._http.request(
            "POST", "companies", json=body, headers={"Idempotency-Key": key}
        )
        company = self._http.json(response)
        expect(self.system, isinstance(company, dict) and "id" in company, "create without id")
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        return UpsertResult(native_id=str(company["id"]), created=not replayed)

    def fingerprint(self, kind: str, record: BaseModel) -> str | None:
        """Digest of the company fields written for a customer; its echo has the same one."""
        if kind != "customer" or not isinstance(record, Customer):
            return None
        return content_digest(mapping.company_from_customer(record))

    def change_fingerprint(self, change: NativeChange) -> str | None:
        """Digest of the fields Interlock writes, as a company change carries them."""
        if change.kind != "customer" or change.deleted:
            return None
        return content_digest(mapping.written_fields(change.payload))

    def find(self, kind: str, canonical_id: str) -> str | None:
        """Id of the company Interlock wrote for ``canonical_id``, or None."""
        if kind != "customer":
            return super().find(kind, canonical_id)
        company = self._company_for(canonical_id)
        return str(company["id"]) if company is not None else None

    def _company_for(self, canonical_id: str) -> Record | None:
        found = list(self._pages("companies", {"external_id": canonical_id}))
        # Should sales ops have copied a company, the oldest one is Interlock's.
        return min(found, key=lambda c: str(c["id"])) if found else None

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and decode its JSON body (None for a 204)."""
        response = self._http.request(method, path, **kwargs)
        return None if response.status_code == 204 else self._http.json(response)

    def _pages(self, resource: str, params: Mapping[str, Any]) -> Iterator[Record]:
        """Every record of a listing, following ``next_cursor`` from page to page."""
        query = dict(params)
        while True:
            body = self._call("GET", resource, params=query)
            expect(
                self.system,
                isinstance(body, dict) and isinstance(body.get("data"), list),
                f"{resource} listing without data",
            )
            yield from body["data"]
            if not body.get("next_cursor"):
                return
            query["cursor"] = body["next_cursor"]

    def _change(self, kind: str, record: Any) -> NativeChange:
        expect(self.system, isinstance(record, dict), f"{kind} record is not an object")
        position = Position.of(self.system, record)
        expect(self.system, record.get("version") is not None, f"{kind} record without version")
        return NativeChange(
            kind=kind,
            native_id=position.record_id,
            version=str(record["version"]),
            changed_at=position.updated_at,
            payload=record,
            deleted=bool(record.get("deleted")),
        )

    def _resource(self, kind: str) -> str:
        if kind not in RESOURCES:
            raise NotImplementedError(f"{self.type} handles {', '.join(sorted(RESOURCES))}")
        return RESOURCES[kind]

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()
