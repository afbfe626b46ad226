"""In-memory Example CRM account: records, API keys, idempotency keys and the request budget.

Thread-safe: the app serves from a uvicorn thread while tests and the demo read and change the
state from theirs. Every method returns copies, never the stored dicts.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterable

import orjson

from interlock.sandbox.example.records import RESOURCES, ApiError, Record, check_writable, validate

DEMO_API_KEY = "example-crm-demo-key"  # a public demo key, not a secret
_PREFIX = {"companies": "co", "deals": "dl", "line_items": "li"}


def stamp(moment: dt.datetime) -> str:
    """The API's timestamp format; with a fixed width, text order is time order."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fingerprint(resource: str, body: Record) -> str:
    return hashlib.sha256(orjson.dumps([resource, body], option=orjson.OPT_SORT_KEYS)).hexdigest()


class ExampleCrmState:
    """One Example CRM account.

    Args:
        api_keys: Keys the API accepts as bearer tokens.
        rate_limit: Requests allowed per key and window; None turns throttling off.
        rate_window_seconds: Length of the throttling window.
        search_lag_seconds: How long a new record stays invisible to the ``external_id``
            filter (search indexes lag in real CRMs; the idempotency key covers the gap).
        write_delay_seconds: Added before answering a write that succeeded, so a client with a
            short timeout gives up on a write that happened.
        clock: Current time; tests pass a fixed one to make equal stamps.
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = (DEMO_API_KEY,),
        rate_limit: int | None = None,
        rate_window_seconds: float = 60.0,
        search_lag_seconds: float = 0.0,
        write_delay_seconds: float = 0.0,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, dict[str, Record]] = {r: {} for r in RESOURCES}
        self._counters = dict.fromkeys(_PREFIX, 0)
        self._searchable_at: dict[str, float] = {}
        self._replies: dict[str, tuple[str, Record]] = {}
        self._usage: dict[str, tuple[float, int]] = {}
        self._api_keys = set(api_keys)
        self.served = 0  # authenticated requests let through the budget
        self.rate_limit = rate_limit
        self.rate_window_seconds = rate_window_seconds
        self.search_lag_seconds = search_lag_seconds
        self.write_delay_seconds = write_delay_seconds
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    # -- access -----------------------------------------------------------------------------

    def authorized(self, api_key: str | None) -> bool:
        with self._lock:
            return api_key in self._api_keys

    def spend(self, api_key: str) -> float | None:
        """Count one request; None when allowed, else the seconds until the window resets."""
        with self._lock:
            if self.rate_limit is not None:
                now = time.monotonic()
                start, used = self._usage.get(api_key, (now, 0))
                if now - start >= self.rate_window_seconds:
                    start, used = now, 0
                if used >= self.rate_limit:
                    return max(1.0, math.ceil(self.rate_window_seconds - (now - start)))
                self._usage[api_key] = (start, used + 1)
            self.served += 1
            return None

    # -- records ----------------------------------------------------------------------------

    def records(self, resource: str, *, include_deleted: bool = False) -> list[Record]:
        """Every record of ``resource`` in id order (tombstones only if asked for)."""
        with self._lock:
            rows = sorted(self._table(resource).values(), key=lambda r: str(r["id"]))
            return [copy.deepcopy(r) for r in rows if include_deleted or not r["deleted"]]

    def get(self, resource: str, record_id: str) -> Record | None:
        """One record, tombstone included; None if it never existed."""
        with self._lock:
            found = self._table(resource).get(record_id)
            return copy.deepcopy(found) if found is not None else None

    def create(
        self, resource: str, fields: Record, *, idempotency_key: str | None = None
    ) -> tuple[Record, bool]:
        """Store a new record; returns (record, replayed).

        With an idempotency key seen before for the same body, nothing is written and the
        record as first answered is returned; for another body, 422 ``idempotency_key_reused``.
        """
        check_writable(resource, fields)
        with self._lock:
            if idempotency_key is not None:
                replay = self._replay(idempotency_key, _fingerprint(resource, fields))
                if replay is not None:
                    return replay, True
            now = stamp(self.clock())
            record: Record = {
                "id": self._new_id(resource),
                **copy.deepcopy(fields),
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "deleted": False,
            }
            self._complete(resource, record, now)
            self._table(resource)[record["id"]] = record
            self._searchable_at[record["id"]] = time.monotonic() + self.search_lag_seconds
            if idempotency_key is not None:
                fingerprint = _fingerprint(resource, fields)
                self._replies[idempotency_key] = (fingerprint, copy.deepcopy(record))
            return copy.deepcopy(record), False

    def update(self, resource: str, record_id: str, fields: Record) -> Record:
        """Change some fields; the version goes up and ``updated_at`` moves."""
        check_writable(resource, fields)
        with self._lock:
            current = self._live(resource, record_id)
            now = stamp(self.clock())
            record = {**current, **copy.deepcopy(fields), "updated_at": now}
            record["version"] = int(current["version"]) + 1
            self._complete(resource, record, now)
            self._table(resource)[record_id] = record
            return copy.deepcopy(record)

    def delete(self, resource: str, record_id: str) -> Record:
        """Soft-delete: the record becomes a tombstone the change feed still lists."""
        with self._lock:
            current = self._live(resource, record_id)
            record = {**current, "deleted": True, "updated_at": stamp(self.clock())}
            record["version"] = int(current["version"]) + 1
            self._table(resource)[record_id] = record
            return copy.deepcopy(record)

    def listing(
        self,
        resource: str,
        *,
        since: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 50,
        include_deleted: bool = False,
        external_id: str | None = None,
    ) -> tuple[list[Record], bool]:
        """Records in (``updated_at``, ``id``) order: (up to ``limit``, more after them)."""
        with self._lock:
            now = time.monotonic()
            rows = sorted(self._table(resource).values(), key=lambda r: (r["updated_at"], r["id"]))
            picked = [
                r
                for r in rows
                if (include_deleted or not r["deleted"])
                and (since is None or r["updated_at"] >= since)
                and (after is None or (r["updated_at"], r["id"]) > after)
                and (
                    external_id is None
                    or (r.get("external_id") == external_id and self._searchable_at[r["id"]] <= now)
                )
            ]
            return [copy.deepcopy(r) for r in picked[:limit]], len(picked) > limit

    def expanded(self, deal: Record) -> Record:
        """A deal with its company embedded under ``company`` (None when it has none)."""
        with self._lock:
            company = self._tables["companies"].get(str(deal.get("company_id")))
            return {**deal, "company": copy.deepcopy(company)}

    # -- internals --------------------------------------------------------------------------

    def _table(self, resource: str) -> dict[str, Record]:
        if resource not in self._tables:
            raise ApiError(404, "not_found", f"no resource {resource!r}")
        return self._tables[resource]

    def _live(self, resource: str, record_id: str) -> Record:
        found = self._table(resource).get(record_id)
        if found is None or found["deleted"]:
            raise ApiError(404, "not_found", f"no {resource} record {record_id!r}")
        return found

    def _new_id(self, kind: str) -> str:
        self._counters[kind] += 1
        return f"{_PREFIX[kind]}_{self._counters[kind]:06d}"

    def _replay(self, key: str, fingerprint: str) -> Record | None:
        seen = self._replies.get(key)
        if seen is None:
            return None
        if seen[0] != fingerprint:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
        return copy.deepcopy(seen[1])

    def _complete(self, resource: str, record: Record, now: str) -> None:
        """Validate, give line items ids, and stamp ``won_at`` when a deal is won."""
        companies = self._tables["companies"]
        validate(resource, record, lambda i: i in companies and not companies[i]["deleted"])
        if resource != "deals":
            return
        for line in record.get("line_items") or []:
            line.setdefault("id", self._new_id("line_items"))
        if record.get("stage") == "won" and not record.get("won_at"):
            record["won_at"] = now
