"""In-memory state of the emulated NetSuite account: records, credentials, governance.

Every method takes the lock, so tests and the demo may read and change records from other
threads while the app serves requests.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from interlock.sandbox.netsuite.access import AccountAccess
from interlock.sandbox.netsuite.errors import NsError
from interlock.sandbox.netsuite.schema import TYPES, RecordType, check_required, coerce

CURRENCIES = (
    ("USD", "US Dollar"),
    ("EUR", "Euro"),
    ("GBP", "British Pound"),
    ("CAD", "Canadian Dollar"),
    ("SGD", "Singapore Dollar"),
    ("AUD", "Australian Dollar"),
    ("CHF", "Swiss Franc"),
    ("JPY", "Yen"),
)
SUBSIDIARY = "Halcyon Partners Inc."
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
        self._next_id: dict[str, int] = dict.fromkeys(TYPES, 1)
        self._seed()

    def _seed(self) -> None:
        for code, name in CURRENCIES:
            self.create(
                "currency",
                {
                    "name": name,
                    "symbol": code,
                    "isBaseCurrency": code == "USD",
                    "exchangeRate": 1.0,
                },
            )
        self.create("subsidiary", {"name": SUBSIDIARY, "currency": {"id": "1"}, "country": "US"})

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
        for record in self._records[type_name].values():
            if record.get("externalId") == external_id:
                return str(record["id"])
        return None

    def create(self, type_name: str, body: Mapping[str, Any]) -> str:
        """Create a record from a request body; return its id. Raises NsError."""
        with self.lock:
            return self._create(self.rtype(type_name), body)

    def update(self, type_name: str, record_id: str, body: Mapping[str, Any]) -> None:
        """Apply a partial update (``null`` clears a field). Raises NsError."""
        with self.lock:
            self._update(self.rtype(type_name), record_id, body)

    def upsert(self, type_name: str, external_id: str, body: Mapping[str, Any]) -> tuple[str, bool]:
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
            self._update(rtype, existing, given)
            return existing, False

    def delete(self, type_name: str, record_id: str) -> None:
        """Delete a record. Raises NsError 404 when absent."""
        with self.lock:
            table = self._records[self.rtype(type_name).name]
            if table.pop(record_id, None) is None:
                raise not_found()

    def touch(self, type_name: str, record_id: str, **fields: Any) -> None:
        """Change stored values directly, as a NetSuite user would, and bump lastModifiedDate."""
        with self.lock:
            record = self._records[self.rtype(type_name).name][record_id]
            record.update(fields)
            record["lastModifiedDate"] = self._stamp()

    def _stamp(self) -> dt.datetime:
        # NetSuite keeps modification stamps to the second.
        return self.clock().astimezone(dt.UTC).replace(microsecond=0)

    def _create(self, rtype: RecordType, body: Mapping[str, Any]) -> str:
        values = self._coerce(rtype, body)
        external = values.get("externalId")
        if external is not None and self._find_external(rtype.name, external) is not None:
            raise NsError(
                400,
                f"A {rtype.name} record with external ID {external} already exists.",
                "USER_ERROR",
                path="externalId",
            )
        self._defaults(rtype.name, values)
        check_required(rtype, values)
        record_id = str(self._next_id[rtype.name])
        self._next_id[rtype.name] += 1
        stamp = self._stamp()
        record = {"id": record_id, **values, "dateCreated": stamp, "lastModifiedDate": stamp}
        self._records[rtype.name][record_id] = record
        return record_id

    def _update(self, rtype: RecordType, record_id: str, body: Mapping[str, Any]) -> None:
        record = self._records[rtype.name].get(record_id)
        if record is None:
            raise not_found()
        values = self._coerce(rtype, body)
        external = values.get("externalId")
        if external is not None and self._find_external(rtype.name, external) not in (
            None,
            record_id,
        ):
            raise NsError(
                400,
                f"A {rtype.name} record with external ID {external} already exists.",
                "USER_ERROR",
                path="externalId",
            )
        merged = {**record, **values}
        check_required(rtype, merged)
        merged["lastModifiedDate"] = self._stamp()
        self._records[rtype.name][record_id] = merged

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

    def _defaults(self, type_name: str, values: dict[str, Any]) -> None:
        if type_name in ("customer", "job") and values.get("companyName"):
            values.setdefault("entityId", values["companyName"])
        if type_name == "employee" and values.get("firstName") and values.get("lastName"):
            values.setdefault("entityId", f"{values['firstName']} {values['lastName']}")
        if type_name == "customer" and values.get("subsidiary"):
            subsidiary = self._records["subsidiary"][values["subsidiary"]]
            values.setdefault("currency", subsidiary.get("currency"))
        if type_name == "job" and values.get("parent"):
            parent = self._records["customer"][values["parent"]]
            values.setdefault("subsidiary", parent.get("subsidiary"))
            values.setdefault("currency", parent.get("currency"))
            values.setdefault("entityStatus", "4")
        for flag in ("isInactive",):
            if flag in TYPES[type_name].fields:
                values.setdefault(flag, False)

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
