"""Polling changes with SOQL on ``SystemModstamp``.

The cursor is ``<SystemModstamp>|<Id>`` of the last record delivered, and records are read in
``ORDER BY SystemModstamp ASC, Id ASC`` order, so equal stamps at a page boundary are neither
skipped nor repeated. The query filters ``SystemModstamp >= <cursor second>`` and the records
up to the cursor are skipped client-side, because orgs compare datetime filters at whole
seconds (``> 12:00:00.500Z`` would also skip an unseen record stamped 12:00:00.700).

Deletions are read too (``queryAll``), as changes with ``deleted=True``, while the record is
in the recycle bin (15 days). Change Data Capture (``cdc.py``) builds the same payloads with
``opportunity_bundles``.

Not covered: a transaction that commits *after* a later-stamped one was read (long Apex
transactions) can be missed; run the poller a few seconds behind, or use Change Data Capture,
where that matters. Editing only a ``SOW_Line__c`` does not stamp its Opportunity, so the deal
is read again only when the Opportunity itself changes (a flow or trigger that touches the
parent on line edits makes them count).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from interlock.connectors.base import ChangePage, NativeChange
from interlock.connectors.http import expect
from interlock.connectors.salesforce.mapping import format_datetime, parse_datetime
from interlock.exceptions import ContractViolation, FieldProblem

Record = dict[str, Any]
Query = Callable[[str, bool], Iterable[Record]]
"""Runs SOQL; the flag asks for deleted records too (``queryAll``)."""

OPPORTUNITY_FIELDS = (
    "Id",
    "IsDeleted",
    "Name",
    "AccountId",
    "StageName",
    "IsWon",
    "IsClosed",
    "CloseDate",
    "Amount",
    "CurrencyIsoCode",
    "Probability",
    "LastStageChangeDate",
    "Practice__c",
    "Contract_Start__c",
    "Contract_End__c",
    "Billing_Type__c",
    "PO_Number__c",
    "Owner_Email__c",
    "Description",
    "CreatedDate",
    "LastModifiedDate",
    "SystemModstamp",
)
ACCOUNT_FIELDS = (
    "Id",
    "IsDeleted",
    "Name",
    "Type",
    "Industry",
    "BillingStreet",
    "BillingCity",
    "BillingPostalCode",
    "BillingCountry",
    "CurrencyIsoCode",
    "Segment__c",
    "Hub_Id__c",
    "SystemModstamp",
)
SOW_LINE_FIELDS = (
    "Id",
    "Name",
    "Opportunity__c",
    "Role__c",
    "Hours__c",
    "Rate__c",
    "Billing_Type__c",
    "Description__c",
    "SystemModstamp",
)
IDS_PER_QUERY = 200
"""Ids per ``IN (...)`` list: keeps the query URL far below Salesforce's 16 KB limit."""


def soql_quote(value: str) -> str:
    """A SOQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Position:
    """Where a change feed stands: the stamp and id of the last record delivered."""

    stamp: dt.datetime
    record_id: str

    def encode(self) -> str:
        """The cursor string."""
        return f"{format_datetime(self.stamp)}|{self.record_id}"

    @classmethod
    def decode(cls, cursor: str, system: str) -> Position:
        """Read a cursor made by ``encode`` (a bare stamp is accepted too)."""
        stamp, _, record_id = cursor.partition("|")
        try:
            return cls(parse_datetime(stamp), record_id)
        except ValueError:
            raise ContractViolation(
                f"{system} change cursor",
                [FieldProblem("cursor", f"expected '<SystemModstamp>|<Id>', got {cursor!r}")],
            ) from None


def changed_since(
    query: Query, system: str, sobject: str, fields: Sequence[str], cursor: str | None, limit: int
) -> tuple[list[Record], str | None, bool]:
    """Up to ``limit`` records changed after ``cursor``: (records, new cursor, more)."""
    limit = max(1, limit)
    after = Position.decode(cursor, system) if cursor else None
    soql = f"SELECT {', '.join(fields)} FROM {sobject}"  # noqa: S608 - names are constants
    if after is not None:
        soql += f" WHERE SystemModstamp >= {after.stamp:%Y-%m-%dT%H:%M:%S}Z"
    soql += " ORDER BY SystemModstamp ASC, Id ASC"
    picked: list[tuple[Position, Record]] = []
    for record in query(soql, True):
        position = _position(system, record)
        if after is not None and (position.stamp, position.record_id) <= (
            after.stamp,
            after.record_id,
        ):
            continue
        picked.append((position, record))
        if len(picked) > limit:
            break  # one beyond the page says whether there is more; the cursor is dropped
    more = len(picked) > limit
    picked = picked[:limit]
    new_cursor = picked[-1][0].encode() if picked else cursor
    return [record for _, record in picked], new_cursor, more


def related(
    query: Query,
    sobject: str,
    fields: Sequence[str],
    key: str,
    values: Iterable[str],
    order: str = "Id ASC",
    include_deleted: bool = False,
) -> Iterator[Record]:
    """Records whose ``key`` is one of ``values``, in batched ``IN`` queries."""
    unique = sorted(set(values))
    for start in range(0, len(unique), IDS_PER_QUERY):
        listed = ", ".join(soql_quote(v) for v in unique[start : start + IDS_PER_QUERY])
        soql = (
            f"SELECT {', '.join(fields)} FROM {sobject} "  # noqa: S608 - values quoted
            f"WHERE {key} IN ({listed}) ORDER BY {order}"
        )
        yield from query(soql, include_deleted)


def opportunity_bundles(query: Query, records: Sequence[Record]) -> dict[str, dict[str, Any]]:
    """Opportunity id → payload: the Opportunity with its Account and SOW lines."""
    accounts = {
        a["Id"]: a
        for a in related(
            query,
            "Account",
            ACCOUNT_FIELDS,
            "Id",
            (str(r["AccountId"]) for r in records if r.get("AccountId")),
        )
    }
    lines: dict[str, list[Record]] = {}
    for line in related(
        query,
        "SOW_Line__c",
        SOW_LINE_FIELDS,
        "Opportunity__c",
        (r["Id"] for r in records),
        order="CreatedDate ASC, Id ASC",
    ):
        lines.setdefault(str(line.get("Opportunity__c")), []).append(line)
    return {
        str(r["Id"]): {
            "Opportunity": r,
            "Account": accounts.get(str(r.get("AccountId"))),
            "SOW_Lines": lines.get(str(r["Id"]), []),
        }
        for r in records
    }


def opportunity_changes(query: Query, system: str, cursor: str | None, limit: int) -> ChangePage:
    """Changed opportunities, each with its Account and SOW lines in the payload."""
    records, new_cursor, more = changed_since(
        query, system, "Opportunity", OPPORTUNITY_FIELDS, cursor, limit
    )
    bundles = opportunity_bundles(query, records)
    changes = [_change("opportunity", system, r, bundles[str(r["Id"])]) for r in records]
    return ChangePage(changes=changes, cursor=new_cursor, more=more)


def account_changes(query: Query, system: str, cursor: str | None, limit: int) -> ChangePage:
    """Changed Accounts, as ``customer`` changes."""
    records, new_cursor, more = changed_since(
        query, system, "Account", ACCOUNT_FIELDS, cursor, limit
    )
    changes = [_change("customer", system, r, {"Account": r}) for r in records]
    return ChangePage(changes=changes, cursor=new_cursor, more=more)


def _position(system: str, record: Record) -> Position:
    record_id, stamp = record.get("Id"), record.get("SystemModstamp")
    expect(
        system,
        isinstance(record_id, str) and isinstance(stamp, str),
        "query record without Id or SystemModstamp",
    )
    try:
        return Position(parse_datetime(str(stamp)), str(record_id))
    except ValueError:
        expect(system, False, f"SystemModstamp {stamp!r} is not a datetime")
        raise


def _change(kind: str, system: str, record: Record, payload: dict[str, Any]) -> NativeChange:
    position = _position(system, record)
    return NativeChange(
        kind=kind,
        native_id=position.record_id,
        version=str(record["SystemModstamp"]),
        changed_at=position.stamp,
        payload=payload,
        deleted=bool(record.get("IsDeleted")),
    )
