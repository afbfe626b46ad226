"""The emulated org: records, clock, OAuth clients and tokens, API budget, query cursors.

All writes, whether from the HTTP API or in process (tests, the demo), go through the same
methods, so ``SystemModstamp`` and derived fields behave identically. Every write stamps
``SystemModstamp`` strictly later than the previous write in the org (1 ms later when the
clock has not moved), so stamps order all writes.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any

from interlock.sandbox.salesforce import ids
from interlock.sandbox.salesforce.errors import NOT_FOUND, AmbiguousExternalId, ApiError
from interlock.sandbox.salesforce.query import bind
from interlock.sandbox.salesforce.results import QueryCursors, attributes
from interlock.sandbox.salesforce.schema import OPPORTUNITY, SOBJECTS, STAGES, SObject, sobject
from interlock.sandbox.salesforce.soql import SoqlError, parse
from interlock.sandbox.salesforce.writes import (
    check_references,
    checked_body,
    missing_required,
)

Record = dict[str, Any]

DEMO_CLIENT_ID = "interlock-demo"
DEMO_CLIENT_SECRET = "interlock-demo-secret"  # noqa: S105 - the sandbox's public demo client
_POD = "Dn"


class SalesforceState:
    """One emulated Salesforce org, safe to use from several threads.

    Args:
        clients: Connected apps allowed the client-credentials flow, client id → secret.
        page_size: Records per query batch (Salesforce: up to 2000).
        api_limit: Daily API request budget; once used up, requests get 403.
        clock: Source of the current time (tests pin it).
    """

    def __init__(
        self,
        *,
        clients: Mapping[str, str] | None = None,
        page_size: int = 2000,
        api_limit: int = 100_000,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.clients = dict(
            clients if clients is not None else {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}
        )
        self.page_size = page_size
        self.api_limit = api_limit
        self.api_usage = 0
        self.org_id = ids.make_id("00D", _POD, 1)
        self.user_id = ids.make_id("005", _POD, 1)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, Record]] = {o.name: {} for o in SOBJECTS.values()}
        self._serial = 0
        self._last_stamp = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._tokens: dict[str, str] = {}
        self._cursors = QueryCursors()

    # -- records -------------------------------------------------------------------------

    def records(self, sobject_name: str, *, include_deleted: bool = False) -> list[Record]:
        """Copies of the records of a type, oldest first; deleted ones only if asked."""
        obj = self._type(sobject_name)
        with self._lock:
            return [
                dict(r)
                for r in self._records[obj.name].values()
                if include_deleted or not r["IsDeleted"]
            ]

    def get(self, sobject_name: str, record_id: str) -> Record | None:
        """A copy of one record (also when deleted: see ``IsDeleted``), or None."""
        obj = self._type(sobject_name)
        with self._lock:
            record = self._records[obj.name].get(ids.normalize_id(record_id) or "")
            return dict(record) if record is not None else None

    def create(self, sobject_name: str, fields: Mapping[str, Any]) -> str:
        """Insert a record as ``POST /sobjects/{T}/`` does; returns its id."""
        obj = self._type(sobject_name)
        values = checked_body(obj, fields)
        with self._lock:
            check_references(obj, values, self._records)
            record: Record = dict.fromkeys(f.name for f in obj.fields)
            record.update(values)
            self._require(obj, record)
            self._serial += 1
            stamp = self._tick()
            record.update(
                Id=ids.make_id(obj.key_prefix, _POD, self._serial),
                IsDeleted=False,
                CreatedDate=stamp,
                CreatedById=self.user_id,
            )
            self._stamp(obj, record, values, None, stamp)
            self._records[obj.name][record["Id"]] = record
            return str(record["Id"])

    def update(self, sobject_name: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change a record as ``PATCH /sobjects/{T}/{id}`` does (stamps it even if unchanged)."""
        obj = self._type(sobject_name)
        values = checked_body(obj, fields)
        with self._lock:
            record = self._live(obj, record_id)
            check_references(obj, values, self._records)
            before = dict(record)
            merged = {**record, **values}
            self._require(obj, merged)
            record.update(values)
            self._stamp(obj, record, values, before, self._tick())

    def upsert(
        self, sobject_name: str, field_name: str, value: str, fields: Mapping[str, Any]
    ) -> tuple[str, bool]:
        """Upsert by external id; returns (id, created). Raises AmbiguousExternalId on 300."""
        obj = self._type(sobject_name)
        with self._lock:
            matches = self.matching(obj.name, field_name, value)
            if len(matches) > 1:
                raise AmbiguousExternalId(obj.name, matches)
            if matches:
                self.update(obj.name, matches[0], fields)
                return matches[0], False
            external = obj.field(field_name)
            assert external is not None  # matching() checked it
            return self.create(obj.name, {**fields, external.name: value}), True

    def matching(self, sobject_name: str, field_name: str, value: str) -> list[str]:
        """Ids of live records whose external-id field equals ``value`` (ignoring case)."""
        obj = self._type(sobject_name)
        field = obj.field(field_name)
        if field is None or not field.external_id:
            raise ApiError(404, "NOT_FOUND", NOT_FOUND)
        with self._lock:
            return [
                r["Id"]
                for r in self._records[obj.name].values()
                if not r["IsDeleted"]
                and r[field.name] is not None
                and str(r[field.name]).casefold() == value.casefold()
            ]

    def delete(self, sobject_name: str, record_id: str) -> None:
        """Delete a record (and its master-detail children), keeping tombstones for queryAll."""
        obj = self._type(sobject_name)
        with self._lock:
            record = self._live(obj, record_id)
            stamp = self._tick()
            record.update(IsDeleted=True, LastModifiedDate=stamp, SystemModstamp=stamp)
            for child_type in SOBJECTS.values():
                for field in child_type.fields:
                    if field.references == obj.name and field.cascade:
                        for child in list(self._records[child_type.name].values()):
                            if child[field.name] == record["Id"] and not child["IsDeleted"]:
                                self.delete(child_type.name, child["Id"])

    def win(self, opportunity_id: str) -> None:
        """Move an opportunity to Closed Won, as a sales rep would."""
        self.update("Opportunity", opportunity_id, {"StageName": "Closed Won"})

    # -- auth and limits -----------------------------------------------------------------

    def client_allowed(self, client_id: str, client_secret: str) -> bool:
        """Whether a connected app with these credentials exists."""
        expected = self.clients.get(client_id)
        return expected is not None and secrets.compare_digest(expected, client_secret)

    def issue_token(self, client_id: str) -> str:
        """A new session token for a known client."""
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(48)}"
        with self._lock:
            self._tokens[token] = client_id
        return token

    def token_valid(self, token: str) -> bool:
        """Whether ``token`` is a live session."""
        with self._lock:
            return token in self._tokens

    def expire_tokens(self) -> None:
        """End every session (as a session timeout or an admin revoking would)."""
        with self._lock:
            self._tokens.clear()

    def spend_request(self) -> bool:
        """Count one API request; False (and not counted) when the daily budget is used up."""
        with self._lock:
            if self.api_usage >= self.api_limit:
                return False
            self.api_usage += 1
            return True

    def limit_info(self) -> str:
        """The ``Sforce-Limit-Info`` header value."""
        return f"api-usage={self.api_usage}/{self.api_limit}"

    # -- queries -------------------------------------------------------------------------

    def query(self, soql: str, *, version: str, include_deleted: bool = False) -> Record:
        """Run a query; the result is snapshotted now and paged with ``query_more``."""
        try:
            bound = bind(parse(soql))
        except SoqlError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        with self._lock:
            rows = bound.run(
                r
                for r in self._records[bound.sobject.name].values()
                if include_deleted or not r["IsDeleted"]
            )
            if bound.count:
                return {"totalSize": len(rows), "done": True, "records": []}
            name = bound.sobject.name
            rendered = [
                {"attributes": attributes(name, r["Id"], version), **bound.project(r)} for r in rows
            ]
            self._serial += 1
            locator = ids.make_id("01g", _POD, self._serial)
            return self._cursors.start(locator, rendered, self.page_size, version)

    def query_more(self, locator: str, offset: int, *, version: str) -> Record:
        """The batch of a query cursor starting at ``offset``."""
        with self._lock:
            return self._cursors.batch(locator, offset, version)

    # -- internals -----------------------------------------------------------------------

    def _type(self, name: str) -> SObject:
        obj = sobject(name)
        if obj is None:
            raise ApiError(404, "NOT_FOUND", NOT_FOUND)
        return obj

    def _live(self, obj: SObject, record_id: str) -> Record:
        record = self._records[obj.name].get(ids.normalize_id(record_id) or "")
        if record is None:
            raise ApiError(404, "NOT_FOUND", NOT_FOUND)
        if record["IsDeleted"]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return record

    def _require(self, obj: SObject, record: Mapping[str, Any]) -> None:
        missing = missing_required(obj, record)
        if missing:
            raise ApiError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )

    def _tick(self) -> str:
        now = self._clock().astimezone(dt.UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_stamp:
            now = self._last_stamp + dt.timedelta(milliseconds=1)
        self._last_stamp = now
        return ids.format_datetime(now)

    def _stamp(
        self,
        obj: SObject,
        record: Record,
        values: Mapping[str, Any],
        before: Mapping[str, Any] | None,
        stamp: str,
    ) -> None:
        record.update(LastModifiedDate=stamp, LastModifiedById=self.user_id, SystemModstamp=stamp)
        stage = record.get("StageName")
        if obj is OPPORTUNITY and (before is None or before["StageName"] != stage):
            closed, won, probability = STAGES.get(str(stage), (False, False, None))
            record.update(IsClosed=closed, IsWon=won, LastStageChangeDate=stamp)
            if "Probability" not in values and probability is not None:
                record["Probability"] = probability
