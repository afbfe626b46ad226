"""Reading changed records with SuiteQL, oldest first, by ``lastmodifieddate``.

NetSuite keeps modification stamps to the second, so the cursor is a timestamp plus, while
a burst of same-second records is being paged through, the last id read:

* ``2024-07-01T12:00:00Z|4711``: go on after record 4711 of that second;
* ``2024-07-01T12:00:00Z``: the reader has caught up; the next read starts *at* that second
  again, so a record changed again within it is not missed. Re-read rows keep their
  ``version`` (stamp plus content hash), so the engine drops them as duplicates.

Customers and projects are read whole by SuiteQL (their payload is the row). The other kinds
are found by SuiteQL (id and stamp) and then read with ``GET <type>/<id>?expandSubResources``
(their payload is the REST record, sublist lines included). Deletions are not seen: REST
has no equivalent of SOAP ``getDeleted``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson

from interlock.connectors.base import NativeChange

TABLES = {
    "customer": "customer",
    "project": "job",
    "task": "projecttask",
    "consultant": "employee",
    "assignment": "resourceallocation",
    "time_entry": "timebill",
    "expense": "transaction",
    "invoice": "transaction",
}
"""Canonical kind → SuiteQL table."""
TRANSACTION_TYPES = {"expense": "ExpRept", "invoice": "CustInvc"}
"""The ``transaction.type`` of kinds kept in the transaction table."""
ROW_KINDS = frozenset({"customer", "project"})
"""Kinds whose change payload is the SuiteQL row; the others' is the REST record."""
_STAMP = "TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodified"
COLUMNS = {
    "customer": "id, externalid, entityid, companyname, email, currency, defaultaddress, "
    f"isinactive, {_STAMP}",
    "project": "id, externalid, entityid, companyname, parent, currency, "
    "TO_CHAR(startdate, 'YYYY-MM-DD') AS startdate, "
    "TO_CHAR(projectedenddate, 'YYYY-MM-DD') AS projectedenddate, jobbillingtype, "
    f"entitystatus, comments, {_STAMP}",
}
KEY_COLUMNS = f"id, externalid, {_STAMP}"


def _timestamp_sql(when: dt.datetime) -> str:
    return f"TO_TIMESTAMP('{when:%Y-%m-%d %H:%M:%S}', 'YYYY-MM-DD HH24:MI:SS')"


def parse_cursor(cursor: str) -> tuple[dt.datetime, str | None]:
    """(timestamp, last id or None) of a cursor; ValueError when it is not ours."""
    stamp, _, last_id = cursor.partition("|")
    when = dt.datetime.fromisoformat(stamp)
    if when.tzinfo is None or (last_id and not last_id.isdigit()):
        raise ValueError(f"not a NetSuite change cursor: {cursor!r}")
    return when.astimezone(dt.UTC), last_id or None


def type_condition(kind: str) -> list[str]:
    """The condition picking ``kind`` out of a shared table (transactions), if any."""
    code = TRANSACTION_TYPES.get(kind)
    return [f"type = '{code}'"] if code else []


def change_query(kind: str, cursor: str | None) -> str:
    """The SuiteQL of the changes of ``kind`` after ``cursor``, oldest first."""
    conditions = type_condition(kind)
    if cursor:
        when, last_id = parse_cursor(cursor)
        stamp = _timestamp_sql(when)
        after = f"lastmodifieddate >= {stamp}"
        if last_id is not None:
            after = f"lastmodifieddate > {stamp} OR (lastmodifieddate = {stamp} AND id > {last_id})"
        conditions.append(f"({after})" if conditions else after)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    columns = COLUMNS.get(kind, KEY_COLUMNS)
    # Only our constants, a parsed timestamp and a digits-only id reach the query text.
    query = f"SELECT {columns} FROM {TABLES[kind]}{where}"  # noqa: S608
    return f"{query} ORDER BY lastmodifieddate, id"


def existing_query(kind: str, external_ids: list[str]) -> str:
    """The SuiteQL listing which of ``external_ids`` exist for ``kind``."""
    quoted = ", ".join("'" + e.replace("'", "''") + "'" for e in external_ids)
    conditions = [*type_condition(kind), f"externalid IN ({quoted})"]
    # Quotes in the ids are doubled above; the rest is our constants.
    return f"SELECT id, externalid FROM {TABLES[kind]} WHERE {' AND '.join(conditions)}"  # noqa: S608


def modified_at(row: dict[str, Any]) -> dt.datetime:
    """The UTC modification stamp of a SuiteQL row or a REST record. KeyError/ValueError."""
    if "lastmodified" not in row and "lastModifiedDate" in row:
        return dt.datetime.strptime(row["lastModifiedDate"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.UTC
        )
    return dt.datetime.strptime(row["lastmodified"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)


def iso(when: dt.datetime) -> str:
    """A cursor timestamp: ``2024-07-01T12:00:00Z``."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_change(kind: str, payload: dict[str, Any]) -> NativeChange:
    """A NativeChange of a row (with its related data already added)."""
    when = modified_at(payload)
    digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return NativeChange(
        kind=kind,
        native_id=str(payload["id"]),
        version=f"{iso(when)}#{digest[:16]}",
        changed_at=when,
        payload=payload,
    )


def next_cursor(cursor: str | None, rows: list[dict[str, Any]], more: bool) -> str | None:
    """The cursor after reading ``rows`` (see the module docstring)."""
    if not rows:
        return cursor.partition("|")[0] if cursor and not more else cursor
    last = rows[-1]
    stamp = iso(modified_at(last))
    return f"{stamp}|{last['id']}" if more else stamp
