"""The NetSuite connector: master data, projects, time, expenses and invoices over REST."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from interlock.connectors.base import ChangePage, Connector, NativeChange, UpsertResult
from interlock.connectors.http import VendorHttp, expect
from interlock.connectors.netsuite import changes, reads
from interlock.connectors.netsuite.auth import M2MToken, TbaSigner
from interlock.connectors.netsuite.concurrency import Outcome, Slots, retry_transient, run_each
from interlock.connectors.netsuite.concurrency import outcomes_of as outcomes_of
from interlock.connectors.netsuite.config import NetSuiteConfig
from interlock.connectors.netsuite.errors import CONCURRENCY_CODES, read_error
from interlock.connectors.netsuite.lists import AccountLists
from interlock.connectors.netsuite.mapping import task_to_native
from interlock.connectors.netsuite.writes import (
    RECORD_TYPES,
    Write,
    check_refs,
    location_id,
    plan,
    record_id,
)
from interlock.exceptions import ConnectorError, RateLimited, RecordNotFound, RecordRejected
from interlock.model import Task

RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
MAX_PAGE = 1000
LOOKUP_CHUNK = 1000  # Oracle, under SuiteQL, takes at most 1,000 values in one IN list
READ_RETRIES = 2
Item = tuple[BaseModel, Mapping[str, str]]


__all__ = ["NetSuiteConnector", "outcomes_of"]


def _segment(value: str) -> str:
    """``value`` escaped as one URL path segment."""
    return quote(value, safe="")


class NetSuiteConnector(Connector):
    """Writes canonical records to NetSuite and reads their changes back.

    Writes are ``PUT <type>/eid:<canonical id>`` upserts, so repeating one is harmless; the
    sublists we own (expense lines, invoice lines) are sent with ``replace=`` so a repeat
    does not add lines. ``created`` comes from a look-up by external id just before the
    write: if another writer creates the same external id in between, the record is still
    single but ``created`` says True.

    Every request takes one of ``config.concurrency`` slots shared by all threads using this
    instance, so concurrent flows together stay under the account's concurrency limit.
    """

    type = "netsuite"
    kinds = frozenset(
        {"customer", "project", "consultant", "assignment", "time_entry", "expense", "invoice"}
    )

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
            limits=config,
            auth_headers=self._bearer if m2m else None,
            on_unauthorized=self._forget_token if m2m else None,
            headers={"Accept": "application/json"},
            read_retries=0,  # retried in _request, so no slot is held while waiting
        )
        if m2m:
            self._m2m = M2MToken(self._http, config)
        else:
            self._http.client.auth = TbaSigner(config)
        self._slots = Slots(self.width)
        self._lists = AccountLists(system, self.suiteql_all)

    @property
    def width(self) -> int:
        """Requests this instance runs at once.

        ``concurrency``, or the shared budget's ``max_concurrency`` when that is lower (more
        threads would only wait on it).
        """
        config = self.config
        return min(config.concurrency, config.max_concurrency or config.concurrency)

    def _bearer(self) -> dict[str, str]:
        assert self._m2m is not None
        return self._m2m.headers()

    def _forget_token(self) -> None:
        assert self._m2m is not None
        self._m2m.invalidate()

    def _request(
        self, method: str, path: str, *, read: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send one request within a slot; retry a read that failed transiently.

        Reads (GET, or ``read=True``) are tried again up to READ_RETRIES times when the wait
        asked for is short, with the slot given back while waiting. Writes are left to the
        engine, whose retries are durable and check before repeating a write.
        """
        retries = READ_RETRIES if (method == "GET" if read is None else read) else 0
        return retry_transient(lambda: self._send(method, path, **kwargs), retries=retries)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            with self._slots.held():
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
        """Create or update a record by its canonical id (the external id).

        Refs by kind: project {customer}; assignment and time_entry {employee, project,
        task when the record has a task}; expense {employee, project}; invoice {customer,
        project when the invoice has one}. A project's tasks are written with it, as
        project tasks; ``children`` maps task ids to their NetSuite ids.
        """
        check_refs(kind, record, refs)
        existing = self._find(RECORD_TYPES[kind], record_id(record))
        return self._write(kind, record, refs or {}, created=existing is None)

    def upsert_each(self, kind: str, items: Sequence[Item]) -> list[Outcome]:
        """Upsert every item, ``config.concurrency`` at a time; per item its outcome.

        NetSuite REST has no batch write, so the items go as single requests in parallel,
        within this connector's slots. A failed item does not stop the others; its outcome
        is the ConnectorError. Refs are checked for every item before anything is sent.
        """
        for record, refs in items:
            check_refs(kind, record, refs)
        ids = [record_id(record) for record, _ in items]
        try:
            existing = self._existing(kind, ids)
        except ConnectorError as exc:  # nothing was written: every item failed alike
            return [exc] * len(items)

        def work(index: int) -> UpsertResult:
            record, refs = items[index]
            return self._write(kind, record, refs, created=ids[index] not in existing)

        return run_each(work, range(len(items)), workers=self.width)

    def upsert_many(self, kind: str, items: Sequence[Item]) -> list[UpsertResult]:
        """Upsert every item in parallel (see ``upsert_each``); results in input order.

        When items fail, the first failure (in input order) is raised once every item has
        finished. The items that succeeded are written, so running the whole batch again is
        safe; to retry only the failed ones, read the per-item outcomes with
        ``outcomes_of(error)``.
        """
        outcomes = self.upsert_each(kind, items)
        failed = [o for o in outcomes if isinstance(o, ConnectorError)]
        if not failed:
            return [o for o in outcomes if isinstance(o, UpsertResult)]
        error = failed[0]
        vars(error)["outcomes"] = outcomes
        error.add_note(
            f"{len(failed)} of {len(items)} {kind} upserts failed; the others were written "
            "(outcomes_of(error) lists each item's outcome)"
        )
        raise error

    def _write(
        self, kind: str, record: BaseModel, refs: Mapping[str, str], *, created: bool
    ) -> UpsertResult:
        write = plan(kind, record, refs, config=self.config, lists=self._lists)
        native_id = self._put(write)
        children = self._write_tasks(write.tasks, native_id) if write.tasks else {}
        return UpsertResult(native_id, created=created, children=children)

    def _put(self, write: Write) -> str:
        path = f"{RECORD}/{write.record_type}/eid:{_segment(write.external_id)}"
        params = {"replace": ",".join(write.replace)} if write.replace else None
        response = self._request("PUT", path, json=write.body, params=params)
        return location_id(self.system, response, write.record_type)

    def _write_tasks(self, tasks: Sequence[Task], job_id: str) -> dict[str, str]:
        def work(task: Task) -> str:
            body = task_to_native(task, project_id=job_id)
            return self._put(Write("projectTask", task.id, body))

        outcomes = run_each(work, tasks, workers=self.width)
        for outcome in outcomes:
            if isinstance(outcome, ConnectorError):
                raise outcome
        return {task.id: str(native) for task, native in zip(tasks, outcomes, strict=True)}

    def _existing(self, kind: str, external_ids: list[str]) -> set[str]:
        """Which of ``external_ids`` exist already, by SuiteQL in chunks."""
        found: set[str] = set()
        for start in range(0, len(external_ids), LOOKUP_CHUNK):
            chunk = external_ids[start : start + LOOKUP_CHUNK]
            rows = self.suiteql_all(changes.existing_query(kind, chunk))
            found |= {str(r["externalid"]) for r in rows if r.get("externalid")}
        return found

    def find(self, kind: str, canonical_id: str) -> str | None:
        """The NetSuite internal id of the record with external id ``canonical_id``."""
        if kind not in RECORD_TYPES:
            raise NotImplementedError(f"netsuite cannot look up {kind}")
        return self._find(RECORD_TYPES[kind], canonical_id)

    def _find(self, record_type: str, external_id: str) -> str | None:
        try:
            response = self._request("GET", f"{RECORD}/{record_type}/eid:{_segment(external_id)}")
        except RecordNotFound:
            return None
        body = self._http.json(response)
        expect(self.system, isinstance(body, dict) and "id" in body, f"{record_type} without id")
        return str(body["id"])

    # -- reads -------------------------------------------------------------------------------

    def suiteql(self, query: str, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], bool]:
        """One page of a SuiteQL query's rows (without ``links``) and whether more follow."""
        response = self._request(
            "POST",
            SUITEQL,
            read=True,  # a query changes nothing: safe to repeat
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

    def suiteql_all(self, query: str) -> list[dict[str, Any]]:
        """Every row of a SuiteQL query, page after page."""
        rows, offset, more = [], 0, True
        while more:
            page, more = self.suiteql(query, limit=MAX_PAGE, offset=offset)
            rows += page
            offset += MAX_PAGE
        return rows

    def read_record(self, record_type: str, native_id: str) -> dict[str, Any]:
        """A record as REST returns it, with its sublists' lines. Raises RecordNotFound."""
        response = self._request(
            "GET",
            f"{RECORD}/{record_type}/{_segment(native_id)}",
            params={"expandSubResources": "true"},
        )
        body = self._http.json(response)
        expect(self.system, isinstance(body, dict) and "id" in body, f"{record_type} without id")
        return dict(body)

    def currency_codes(self) -> dict[str, str]:
        """The account's currencies: internal id → ISO code."""
        return self._lists.currency_codes()

    def get(self, kind: str, native_id: str) -> NativeChange:
        """The current state of one record, as a change. Raises RecordNotFound."""
        return reads.get(self, kind, native_id)

    def read_changes(self, kind: str, cursor: str | None, limit: int = 200) -> ChangePage:
        """Records of ``kind`` changed since ``cursor``, oldest first (see ``changes``)."""
        return reads.read_changes(self, kind, cursor, limit)

    def classify(self, change: NativeChange) -> str:
        """``approved`` for approved time bills and expense reports, else changed/deleted."""
        return reads.classify(change)

    def to_canonical(self, change: NativeChange) -> BaseModel:
        """The canonical record of a change. Raises ContractViolation."""
        return reads.to_canonical(self, change)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()
