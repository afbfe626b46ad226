"""The NetSuite connector: customers and projects (``job`` records) over SuiteTalk REST."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from interlock.connectors.base import ChangePage, Connector, NativeChange, UpsertResult
from interlock.connectors.http import VendorHttp, expect
from interlock.connectors.netsuite import changes
from interlock.connectors.netsuite.auth import M2MToken, TbaSigner
from interlock.connectors.netsuite.config import NetSuiteConfig
from interlock.connectors.netsuite.errors import CONCURRENCY_CODES, read_error
from interlock.connectors.netsuite.mapping import (
    customer_from_native,
    customer_to_native,
    project_from_native,
    project_to_native,
)
from interlock.exceptions import (
    MalformedResponse,
    RateLimited,
    RecordNotFound,
    RecordRejected,
)
from interlock.model import Customer, Project

RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
MAX_PAGE = 1000


def _segment(value: str) -> str:
    """``value`` escaped as one URL path segment."""
    return quote(value, safe="")


class NetSuiteConnector(Connector):
    """Writes customers and projects to NetSuite and reads their changes back.

    Writes are ``PUT <type>/eid:<canonical id>`` upserts, so repeating one is harmless.
    ``created`` in the result comes from a look-up by external id just before the write: if
    another writer creates the same external id in between, the record is still single but
    ``created`` says True.
    """

    type = "netsuite"
    kinds = frozenset({"customer", "project"})

    def __init__(self, system: str, config: NetSuiteConfig) -> None:
        super().__init__(system)
        self.config = config
        self._m2m: M2MToken | None = None
        m2m = config.auth_method == "oauth2_m2m"
        self._http = VendorHttp(
            system,
            config.base_url,
            read_error=read_error,
            timeout=config.timeout_seconds,
            auth_headers=self._bearer if m2m else None,
            on_unauthorized=self._forget_token if m2m else None,
            headers={"Accept": "application/json"},
        )
        if m2m:
            self._m2m = M2MToken(self._http, config)
        else:
            self._http.client.auth = TbaSigner(config)
        self._currencies: dict[str, str] | None = None

    def _bearer(self) -> dict[str, str]:
        assert self._m2m is not None
        return self._m2m.headers()

    def _forget_token(self) -> None:
        assert self._m2m is not None
        self._m2m.invalidate()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except RecordRejected as exc:
            if exc.code in CONCURRENCY_CODES:
                raise RateLimited(
                    self.system, exc.message, status=exc.status, code=exc.code
                ) from exc
            raise

    def authenticate(self) -> None:
        """Sign in now: fetch a token (M2M) or read the subsidiary (TBA)."""
        if self._m2m is not None:
            self._m2m.refresh()
        else:
            self._request("GET", f"{RECORD}/subsidiary/{_segment(self.config.subsidiary_id)}")

    # -- writes ------------------------------------------------------------------------------

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        """Create or update a customer or project by its canonical id (the external id)."""
        subsidiary = self.config.subsidiary_id
        if kind == "customer" and isinstance(record, Customer):
            currency = self._currency_id(record.currency) if record.currency else None
            body = customer_to_native(record, subsidiary_id=subsidiary, currency_id=currency)
        elif kind == "project" and isinstance(record, Project):
            if not refs or not refs.get("customer"):
                raise ValueError(
                    "upsert('project') needs refs['customer']: the NetSuite id "
                    "of the project's customer"
                )
            body = project_to_native(record, customer_id=refs["customer"], subsidiary_id=subsidiary)
        else:
            raise NotImplementedError(f"netsuite does not write {kind} ({type(record).__name__})")
        table = changes.TABLES[kind]
        existing = self._find(table, record.id)
        path = f"{RECORD}/{table}/eid:{_segment(record.id)}"
        response = self._request("PUT", path, json=body)
        return UpsertResult(self._location_id(response, table), created=existing is None)

    def _location_id(self, response: httpx.Response, table: str) -> str:
        location = response.headers.get("Location", "")
        match = re.search(rf"/record/v1/{table}/(\d+)/?$", location)
        if match is None:
            raise MalformedResponse(
                self.system,
                f"{response.request.method} {table}: the Location header is missing or "
                "does not end in a record id",
                status=response.status_code,
            )
        return match.group(1)

    def find(self, kind: str, canonical_id: str) -> str | None:
        """The NetSuite internal id of the record with external id ``canonical_id``."""
        if kind not in changes.TABLES:
            raise NotImplementedError(f"netsuite cannot look up {kind}")
        return self._find(changes.TABLES[kind], canonical_id)

    def _find(self, table: str, external_id: str) -> str | None:
        try:
            response = self._request("GET", f"{RECORD}/{table}/eid:{_segment(external_id)}")
        except RecordNotFound:
            return None
        body = self._http.json(response)
        expect(self.system, isinstance(body, dict) and "id" in body, f"{table} without id")
        return str(body["id"])

    def _currency_id(self, code: str) -> str:
        currencies = self._currency_map()
        if code not in currencies:  # perhaps set up since we looked
            currencies = self._currency_map(reload=True)
        if code not in currencies:
            raise RecordRejected(
                self.system, f"currency {code} is not set up in NetSuite", fields=("currency",)
            )
        return currencies[code]

    # -- reads -------------------------------------------------------------------------------

    def _suiteql(self, query: str, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], bool]:
        response = self._request(
            "POST",
            SUITEQL,
            json={"q": query},
            params={"limit": limit, "offset": offset},
            headers={"Prefer": "transient"},
        )
        body = self._http.json(response)
        ok = isinstance(body, dict) and isinstance(body.get("items"), list)
        expect(self.system, ok, "SuiteQL answer without items")
        rows = [
            {k: v for k, v in r.items() if k != "links"}
            for r in body["items"]
            if isinstance(r, dict)
        ]
        return rows, bool(body.get("hasMore"))

    def _suiteql_all(self, query: str) -> list[dict[str, Any]]:
        rows, offset, more = [], 0, True
        while more:
            page, more = self._suiteql(query, limit=MAX_PAGE, offset=offset)
            rows += page
            offset += MAX_PAGE
        return rows

    def read_changes(self, kind: str, cursor: str | None, limit: int = 200) -> ChangePage:
        """Customers or projects changed since ``cursor``, oldest first (see ``changes``)."""
        if kind not in changes.TABLES:
            raise NotImplementedError(f"netsuite does not read {kind} changes")
        query = changes.change_query(kind, cursor)
        rows, more = self._suiteql(query, limit=max(1, min(limit, MAX_PAGE)), offset=0)
        try:
            self._add_related(kind, rows)
            found = [changes.to_change(kind, row) for row in rows]
        except (KeyError, ValueError) as exc:
            raise MalformedResponse(self.system, f"unreadable {kind} change row") from exc
        return ChangePage(found, changes.next_cursor(cursor, rows, more), more=more)

    def _add_related(self, kind: str, rows: list[dict[str, Any]]) -> None:
        symbols = {v: k for k, v in self._currency_map().items()}
        for row in rows:
            if row.get("currency"):
                row["currency_symbol"] = symbols.get(str(row["currency"]))
        if kind != "project":
            return
        parents = sorted({str(r["parent"]) for r in rows if str(r.get("parent", "")).isdigit()})
        if not parents:
            return
        # The ids are checked to be digits above: nothing else reaches the query text.
        query = f"SELECT id, externalid FROM customer WHERE id IN ({', '.join(parents)})"  # noqa: S608
        external = {str(r["id"]): r.get("externalid") for r in self._suiteql_all(query)}
        for row in rows:
            row["parent_externalid"] = external.get(str(row.get("parent")))

    def _currency_map(self, *, reload: bool = False) -> dict[str, str]:
        """ISO code → internal id of the account's currencies, read once."""
        if self._currencies is None or reload:
            rows = self._suiteql_all("SELECT id, symbol FROM currency ORDER BY id")
            self._currencies = {str(r["symbol"]): str(r["id"]) for r in rows if "symbol" in r}
        return self._currencies

    def to_canonical(self, change: NativeChange) -> BaseModel:
        """The canonical customer or project of a change. Raises ContractViolation."""
        if change.kind == "customer":
            return customer_from_native(change.payload, self.system)
        if change.kind == "project":
            return project_from_native(change.payload, self.system)
        raise NotImplementedError(f"netsuite does not map {change.kind}")

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()
