"""In-memory state of the emulated NetSuite account: records, credentials, governance.

Every method takes the lock, so tests and the demo may read and change records from other
threads while the app serves requests.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from interlock.sandbox.netsuite import rules
from interlock.sandbox.netsuite.access import AccountAccess
from interlock.sandbox.netsuite.errors import NsError
from interlock.sandbox.netsuite.records import TRANSACTION_TYPES, TYPES
from interlock.sandbox.netsuite.schema import RecordType, check_required, coerce
from interlock.sandbox.netsuite.sqlvalues import Table
from interlock.sandbox.netsuite.starter import STARTER_RECORDS

SEQUENCES = dict.fromkeys(TRANSACTION_TYPES, "transaction")
"""Transactions share one internal id sequence, as in NetSuite."""
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class NetSuiteState(AccountAccess):
    """Records and settings of one emulated account.

    Args:
        account_id: The account id; TBA requests must carry it as ``realm``.
        concurrency_limit: How many requests may run at once before the next gets 429.
        clock: Source of record timestamps (UTC); tests pass a controllable one.
    """

    def __init__(
        self,
        *,
        account_id: str = "1234567_SB1",
        concurrency_limit: int = 5,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        super().__init__(concurrency_limit=concurrency_limit)
        self.account_id = account_id
        self.clock = clock
        self._records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in TYPES}
        self._external: dict[str, dict[str, str]] = {name: {} for name in TYPES}
        self._next_id: dict[str, int] = dict.fromkeys([*TYPES, *SEQUENCES.values()], 1)
        self._tran_numbers: dict[str, int] = {}
        for type_name, body in STARTER_RECORDS:
            self.create(type_name, body)

    # -- records -------------------------------------------------------------------------

    def rtype(self, name: str) -> RecordType:
        """The record type called ``name`` (any letter case); 404 when there is none."""
        for known, rtype in TYPES.items():
            if known.lower() == name.lower():
                return rtype
        raise NsError(404, f"Record type '{name}' does not exist.", "NONEXISTENT_ID")

    def records(self, type_name: str) -> list[dict[str, Any]]:
        """Copies of every record of a type, by id."""
        with self.lock:
            table = self._records[self.rtype(type_name).name]
            return [copy.deepcopy(r) for r in sorted(table.values(), key=_id_order)]

    def table_rows(self, table: Table) -> list[dict[str, Any]]:
        """The rows of a SuiteQL table, built under the lock (no copies of whole records)."""
        with self.lock:
            return table.rows(lambda name: list(self._records[name].values()))

    def get(self, type_name: str, record_id: str) -> dict[str, Any] | None:
        """A copy of one record, or None."""
        with self.lock:
            record = self._records[self.rtype(type_name).name].get(record_id)
            return copy.deepcopy(record) if record is not None else None

    def find_external(self, type_name: str, external_id: str) -> str | None:
        """The internal id of the record with this external id, or None."""
        with self.lock:
            return self._find_external(self.rtype(type_name).name, external_id)

    def _find_external(self, type_name: str, external_id: str) -> str | None:
        return self._external[type_name].get(external_id)

    def create(self, type_name: str, body: Mapping[str, Any]) -> str:
        """Create a record from a request body; return its id. Raises NsError."""
        with self.lock:
            return self._create(self.rtype(type_name), body)

    def update(
        self,
        type_name: str,
        record_id: str,
        body: Mapping[str, Any],
        *,
        replace: Collection[str] = (),
    ) -> None:
        """Apply a partial update (``null`` clears a field). Raises NsError.

        Sublist lines are appended, as NetSuite does for sublists without keys, except for
        the sublists named in ``replace``, whose lines are replaced.
        """
        with self.lock:
            self._update(self.rtype(type_name), record_id, body, replace)

    def upsert(
        self,
        type_name: str,
        external_id: str,
        body: Mapping[str, Any],
        *,
        replace: Collection[str] = (),
    ) -> tuple[str, bool]:
        """Create or update by external id; return (id, created)."""
        with self.lock:
            rtype = self.rtype(type_name)
            given = {k: v for k, v in body.items() if k.lower() != "externalid"}
            if any(k.lower() == "externalid" and v != external_id for k, v in body.items()):
                raise NsError(
                    400,
                    "The externalId in the body differs from the one in the URL.",
                    "INVALID_CONTENT",
                    path="externalId",
                )
            existing = self._find_external(rtype.name, external_id)
            if existing is None:
                return self._create(rtype, {**given, "externalId": external_id}), True
            self._update(rtype, existing, given, replace)
            return existing, False

    def delete(self, type_name: str, record_id: str) -> None:
        """Delete a record. Raises NsError 404 when absent."""
        with self.lock:
            name = self.rtype(type_name).name
            record = self._records[name].pop(record_id, None)
            if record is None:
                raise not_found()
            self._index(name, record, None)

    def touch(self, type_name: str, record_id: str, **fields: Any) -> None:
        """Change stored values directly, as a NetSuite user would, and bump lastModifiedDate."""
        with self.lock:
            name = self.rtype(type_name).name
            record = self._records[name][record_id]
            self._index(name, record, None)
            record.update(fields)
            record["lastModifiedDate"] = self._stamp()
            self._index(name, record, record_id)

    def _index(self, type_name: str, record: Mapping[str, Any], record_id: str | None) -> None:
        """Index the record's external id under ``record_id``, or drop it (None)."""
        external = record.get("externalId")
        if external is None:
            return
        if record_id is None:
            self._external[type_name].pop(external, None)
        else:
            self._external[type_name][external] = record_id

    def _stamp(self) -> dt.datetime:
        # NetSuite keeps modification stamps to the second.
        return self.clock().astimezone(dt.UTC).replace(microsecond=0)

    def _lookup(self, type_name: str, record_id: str) -> dict[str, Any] | None:
        return self._records[type_name].get(record_id)

    def _create(self, rtype: RecordType, body: Mapping[str, Any]) -> str:
        values = self._coerce(rtype, body)
        self._claim_external(rtype.name, values.get("externalId"), None)
        check_required(rtype, values)
        record = {k: v for k, v in values.items() if v is not None}
        rules.defaults(rtype.name, record, self._lookup, self._stamp().date())
        if rtype.name in TRANSACTION_TYPES and not record.get("tranId"):
            record["tranId"] = self._tran_id(rtype.name)
        self._save(rtype, record)
        sequence = SEQUENCES.get(rtype.name, rtype.name)
        record_id = str(self._next_id[sequence])
        self._next_id[sequence] += 1
        stamp = self._stamp()
        record.update({"id": record_id, rtype.created: stamp, "lastModifiedDate": stamp})
        self._records[rtype.name][record_id] = record
        self._index(rtype.name, record, record_id)
        return record_id

    def _update(
        self,
        rtype: RecordType,
        record_id: str,
        body: Mapping[str, Any],
        replace: Collection[str],
    ) -> None:
        record = self._records[rtype.name].get(record_id)
        if record is None:
            raise not_found()
        replace = self._sublist_names(rtype, replace)
        values = self._coerce(rtype, body)
        self._claim_external(rtype.name, values.get("externalId"), record_id)
        merged = copy.deepcopy(record)
        for name, value in values.items():
            old = merged.get(name)
            keep = old if name in rtype.sublists() and name not in replace and old else []
            merged[name] = keep + value if isinstance(value, list) else value
        check_required(rtype, merged)
        self._save(rtype, merged)
        merged["lastModifiedDate"] = self._stamp()
        self._index(rtype.name, record, None)
        self._index(rtype.name, merged, record_id)
        self._records[rtype.name][record_id] = merged

    def _save(self, rtype: RecordType, record: dict[str, Any]) -> None:
        for name in rtype.sublists():
            lines = record.get(name) or []
            last = max((line.get("line", 0) for line in lines), default=0)
            for line in lines:
                if "line" not in line:
                    last += 1
                    line["line"] = last
        rules.derive(rtype.name, record)
        rules.check(rtype.name, record, self._lookup)

    def _sublist_names(self, rtype: RecordType, names: Collection[str]) -> set[str]:
        found = {name: rtype.lookup(name) for name in names}
        unknown = sorted(n for n, f in found.items() if f is None or f[0] not in rtype.sublists())
        if unknown:
            raise NsError(
                400,
                f"Invalid value for the 'replace' parameter: {', '.join(unknown)} is not a "
                f"sublist of {rtype.name}.",
                "INVALID_PARAMETER",
                query_param="replace",
            )
        return {f[0] for f in found.values() if f is not None}

    def _claim_external(self, type_name: str, external: str | None, owner: str | None) -> None:
        if external is not None and self._find_external(type_name, external) not in (None, owner):
            raise NsError(
                400,
                f"A {type_name} record with external ID {external} already exists.",
                "USER_ERROR",
                path="externalId",
            )

    def _tran_id(self, type_name: str) -> str:
        # Interlock assumption: auto-numbering with a per-type prefix, as accounts often set.
        self._tran_numbers[type_name] = self._tran_numbers.get(type_name, 0) + 1
        prefix = {"invoice": "INV", "expenseReport": "EXP"}[type_name]
        return f"{prefix}{self._tran_numbers[type_name]:05d}"

    def _coerce(self, rtype: RecordType, body: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(coerce(rtype, key, value, self._resolve) for key, value in body.items())
        external = values.get("externalId")
        if external is not None and not EXTERNAL_ID.match(external):
            raise NsError(
                400,
                "An external ID may contain only letters, digits, '_' and '-'.",
                "INVALID_CONTENT",
                path="externalId",
            )
        return values

    def _resolve(self, type_name: str, ref: dict[str, Any]) -> str | None:
        if "id" in ref:
            key = str(ref["id"])
            return key if key in self._records[type_name] else None
        return self._find_external(type_name, str(ref["externalId"]))

    def ref_name(self, type_name: str, record_id: str) -> str | None:
        """The ``refName`` of a record: the first set field of its type's naming fields."""
        with self.lock:
            record = self._records[type_name].get(record_id)
            if record is None:
                return None
            names = (record.get(f) for f in TYPES[type_name].ref_name)
            return next((str(n) for n in names if n), None)


def not_found() -> NsError:
    """The error for a record id or external id that does not exist."""
    return NsError(
        404,
        "The record instance does not exist. Provide a valid record instance ID.",
        "NONEXISTENT_ID",
    )


def _id_order(record: Mapping[str, Any]) -> int:
    return int(record["id"])
