"""The emulated org: records, clock, transactions, change events, API budget, query cursors.

All writes, whether from the HTTP API or in process (tests, the demo), go through the same
methods, so ``SystemModstamp``, derived fields and change events behave identically. Every
write stamps ``SystemModstamp`` strictly later than the previous write in the org (1 ms later
when the clock has not moved), so stamps order all writes. Writes made in process count as
changes made in the UI by the org's default user: their events have an empty ``changeOrigin``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from interlock.sandbox.salesforce import ids
from interlock.sandbox.salesforce.access import Access
from interlock.sandbox.salesforce.budget import DailyBudget
from interlock.sandbox.salesforce.cdc import ChangeLog
from interlock.sandbox.salesforce.delivery import Subscriptions
from interlock.sandbox.salesforce.errors import NOT_FOUND, AmbiguousExternalId, ApiError
from interlock.sandbox.salesforce.query import bind
from interlock.sandbox.salesforce.results import QueryCursors, attributes
from interlock.sandbox.salesforce.schema import OPPORTUNITY, SOBJECTS, STAGES, SObject, children
from interlock.sandbox.salesforce.soql import SoqlError, parse
from interlock.sandbox.salesforce.transactions import Transaction, pending_change
from interlock.sandbox.salesforce.writes import (
    check_references,
    checked_body,
    require_fields,
    sobject_type,
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
        api_limit: API requests allowed per rolling 24 hours; past it, requests get 403.
        clock: Source of the current time (tests pin it).

    Attributes:
        access: Connected apps and sessions (``access.register_jwt_app(...)``).
        changes: Change Data Capture events (``changes.events(channel, replay_from)``).
        subscriptions: Endpoints the events are pushed to (``subscriptions.subscribe(...)``).
    """

    def __init__(
        self,
        *,
        clients: Mapping[str, str] | None = None,
        page_size: int = 2000,
        api_limit: int = 100_000,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.page_size = page_size
        self.org_id = ids.make_id("00D", _POD, 1)
        self.user_id = ids.make_id("005", _POD, 1)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, Record]] = {o.name: {} for o in SOBJECTS.values()}
        self._serial = 0
        self._last_stamp = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._cursors = QueryCursors()
        self._tx: Transaction | None = None
        self.access = Access(
            self.org_id,
            self.user_id,
            clients if clients is not None else {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET},
        )
        self.budget = DailyBudget(api_limit, self._clock)
        self.changes = ChangeLog(self._clock)
        self.subscriptions = Subscriptions(self.changes)

    # -- records -------------------------------------------------------------------------

    def records(self, sobject_name: str, *, include_deleted: bool = False) -> list[Record]:
        """Copies of the records of a type, oldest first; deleted ones only if asked."""
        obj = sobject_type(sobject_name)
        with self._lock:
            return [
                dict(r)
                for r in self._records[obj.name].values()
                if include_deleted or not r["IsDeleted"]
            ]

    def get(self, sobject_name: str, record_id: str) -> Record | None:
        """A copy of one record (also when deleted: see ``IsDeleted``), or None."""
        obj = sobject_type(sobject_name)
        with self._lock:
            record = self._records[obj.name].get(ids.normalize_id(record_id) or "")
            return dict(record) if record is not None else None

    def now(self) -> dt.datetime:
        """The org's current time."""
        return self._clock()

    def type_of(self, record_id: str) -> str | None:
        """The sObject type an id's key prefix names, or None."""
        return next((o.name for o in SOBJECTS.values() if record_id[:3] == o.key_prefix), None)

    @contextlib.contextmanager
    def transaction(self, origin: str = "", user_id: str | None = None) -> Iterator[None]:
        """Run writes atomically; nested calls are savepoints (their origin is ignored).

        On an exception the writes since entry are undone and no events are published.
        """
        with self._lock:
            outer = self._tx is None
            tx = self._tx = self._tx or Transaction(origin, user_id or self.user_id)
            mark = tx.mark()
            try:
                yield
            except BaseException:
                tx.rollback(mark, self._records)
                raise
            finally:
                if outer:
                    self._tx = None
            if outer:
                self.changes.publish(tx.changes, origin=tx.origin, user_id=tx.user_id, key=tx.key)

    def create(self, sobject_name: str, fields: Mapping[str, Any]) -> str:
        """Insert a record as ``POST /sobjects/{T}/`` does; returns its id."""
        obj = sobject_type(sobject_name)
        values = checked_body(obj, fields)
        with self.transaction():
            check_references(obj, values, self._records)
            record: Record = dict.fromkeys(f.name for f in obj.fields)
            record.update(values)
            require_fields(obj, record)
            self._serial += 1
            stamp = self._tick()
            record.update(
                Id=ids.make_id(obj.key_prefix, _POD, self._serial),
                IsDeleted=False,
                CreatedDate=stamp,
                CreatedById=self._actor(),
            )
            self._stamp(obj, record, values, None, stamp)
            self._records[obj.name][record["Id"]] = record
            self._written(obj, "CREATE", record, None)
            return str(record["Id"])

    def update(self, sobject_name: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change a record as ``PATCH /sobjects/{T}/{id}`` does (stamps it even if unchanged)."""
        obj = sobject_type(sobject_name)
        values = checked_body(obj, fields)
        with self.transaction():
            record = self._live(obj, record_id)
            check_references(obj, values, self._records)
            before = dict(record)
            require_fields(obj, {**record, **values})
            record.update(values)
            self._stamp(obj, record, values, before, self._tick())
            self._written(obj, "UPDATE", record, before)

    def upsert(
        self, sobject_name: str, field_name: str, value: str, fields: Mapping[str, Any]
    ) -> tuple[str, bool]:
        """Upsert by external id; returns (id, created). Raises AmbiguousExternalId on 300."""
        obj = sobject_type(sobject_name)
        with self.transaction():
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
        obj = sobject_type(sobject_name)
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
        obj = sobject_type(sobject_name)
        with self.transaction():
            record = self._live(obj, record_id)
            before = dict(record)
            stamp = self._tick()
            record.update(IsDeleted=True, LastModifiedDate=stamp, SystemModstamp=stamp)
            self._written(obj, "DELETE", record, before)
            for child_type, field_name in children(obj):
                for child in list(self._records[child_type].values()):
                    if child[field_name] == record["Id"] and not child["IsDeleted"]:
                        self.delete(child_type, child["Id"])

    def undelete(self, sobject_name: str, record_id: str) -> None:
        """Restore a deleted record from the recycle bin (its children stay deleted)."""
        obj = sobject_type(sobject_name)
        with self.transaction():
            record = self._records[obj.name].get(ids.normalize_id(record_id) or "")
            if record is None or not record["IsDeleted"]:
                raise ApiError(404, "NOT_FOUND", NOT_FOUND)
            before = dict(record)
            stamp = self._tick()
            record.update(IsDeleted=False, LastModifiedDate=stamp, SystemModstamp=stamp)
            self._written(obj, "UNDELETE", record, before)

    def win(self, opportunity_id: str) -> None:
        """Move an opportunity to Closed Won, as a sales rep would."""
        self.update("Opportunity", opportunity_id, {"StageName": "Closed Won"})

    # -- auth and limits (the rest is on ``access`` and ``budget``) ---------------------

    def register_jwt_app(
        self, consumer_key: str, public_pem: str | bytes, users: Iterable[str]
    ) -> dict[str, str]:
        """Allow the JWT bearer flow for a connected app whose certificate is ``public_pem``.

        Returns:
            Username → user id of the pre-authorised ``users``.
        """
        return self.access.register_jwt_app(consumer_key, public_pem, users)

    def expire_tokens(self) -> None:
        """End every session (as a session timeout or an admin revoking would)."""
        self.access.expire_tokens()

    @property
    def api_limit(self) -> int:
        """API requests allowed per rolling 24 hours."""
        return self.budget.limit

    @api_limit.setter
    def api_limit(self, value: int) -> None:
        self.budget.limit = value

    @property
    def api_usage(self) -> int:
        """API requests counted in the last 24 hours."""
        return self.budget.used

    def close(self) -> None:
        """Stop pushing change events (ends the subscribers' threads)."""
        self.subscriptions.close()

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

    def _live(self, obj: SObject, record_id: str) -> Record:
        record = self._records[obj.name].get(ids.normalize_id(record_id) or "")
        if record is None:
            raise ApiError(404, "NOT_FOUND", NOT_FOUND)
        if record["IsDeleted"]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return record

    def _actor(self) -> str:
        return self._tx.user_id if self._tx is not None else self.user_id

    def _written(self, obj: SObject, change: str, record: Record, before: Record | None) -> None:
        assert self._tx is not None  # every write runs in a transaction
        self._tx.remember(obj.name, record["Id"], before)
        self._tx.changes.append(pending_change(obj, change, record, before))

    def _tick(self) -> str:
        now = self._clock().astimezone(dt.UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_stamp:
            now = self._last_stamp + dt.timedelta(milliseconds=1)
        self._last_stamp = now
        return ids.format_datetime(now)

    def _stamp(
        self, obj: SObject, record: Record, values: Mapping[str, Any], before: Any, stamp: str
    ) -> None:
        record.update(LastModifiedDate=stamp, LastModifiedById=self._actor(), SystemModstamp=stamp)
        stage = record.get("StageName")
        if obj is OPPORTUNITY and (before is None or before["StageName"] != stage):
            closed, won, probability = STAGES.get(str(stage), (False, False, None))
            record.update(IsClosed=closed, IsWon=won, LastStageChangeDate=stamp)
            if "Probability" not in values and probability is not None:
                record["Probability"] = probability
