"""The Salesforce connector: reads opportunities and accounts, writes accounts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel

from interlock.connectors.base import ChangePage, Connector, NativeChange, UpsertResult
from interlock.connectors.http import expect
from interlock.connectors.salesforce import changes, mapping
from interlock.connectors.salesforce.auth import OAuthSession
from interlock.connectors.salesforce.batches import upsert_collection
from interlock.connectors.salesforce.cdc import changes_from_events, client_of, read_events
from interlock.connectors.salesforce.config import SalesforceConfig
from interlock.connectors.salesforce.limits import ApiLimits, SalesforceHttp
from interlock.exceptions import RecordRejected, Team
from interlock.model import Customer, validate_contract


def read_error(response: httpx.Response) -> tuple[str, str | None, tuple[str, ...]]:
    """Read Salesforce's error array (or the OAuth ``{error, error_description}`` object)."""
    body = orjson.loads(response.content)
    if isinstance(body, list) and body and all(isinstance(i, dict) for i in body):
        message = "; ".join(str(i.get("message", "")).strip() for i in body)
        fields = tuple(str(f) for i in body for f in i.get("fields") or ())
        code = body[0].get("errorCode")
        return message, str(code) if code else None, fields
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body.get("error_description") or body["error"]), body["error"], ()
    raise ValueError("not a Salesforce error body")


class SalesforceConnector(Connector):
    """Salesforce CRM over the REST API.

    Reads ``opportunity`` changes (with the Account and ``SOW_Line__c`` records) and
    ``customer`` (Account) changes by polling SOQL on ``SystemModstamp`` or from pushed Change
    Data Capture events (``parse_cdc``); writes customers as Accounts, upserted on the
    external-id field ``Hub_Id__c``, one by one or 200 per call (``upsert_many``). Every call
    says ``Sforce-Call-Options: client=<client_name>``, so the org's change events show which
    changes the hub made (``is_own_change``). ``limits`` is the org's daily request budget.

    Args:
        system: Name of this system in the topology.
        config: Connection settings.
    """

    type: ClassVar[str] = "salesforce"
    kinds: ClassVar[frozenset[str]] = frozenset({"opportunity", "customer"})
    _auth: OAuthSession

    def __init__(self, system: str, config: SalesforceConfig) -> None:
        super().__init__(system)
        self.config = config
        self._http = SalesforceHttp(
            system,
            config.base_url,
            pause_seconds=config.limit_pause_seconds,
            read_error=read_error,
            timeout=config.timeout_seconds,
            auth_headers=lambda: self._auth.headers(),
            on_unauthorized=lambda: self._auth.refresh(),
            headers={
                "Accept": "application/json",
                "Sforce-Call-Options": f"client={config.client_name}",
            },
        )
        self._auth = OAuthSession(self._http, config)

    @property
    def limits(self) -> ApiLimits | None:
        """Daily API requests used and allowed, from the last ``Sforce-Limit-Info`` seen."""
        return self._http.limits

    def authenticate(self) -> None:
        """Get a session now. Raises AuthenticationFailed when the org refuses the client."""
        self._auth.session()

    def read_changes(self, kind: str, cursor: str | None, limit: int = 200) -> ChangePage:
        """Opportunities or Accounts changed after ``cursor``, oldest first."""
        if kind == "opportunity":
            return changes.opportunity_changes(self.query, self.system, cursor, limit)
        if kind == "customer":
            return changes.account_changes(self.query, self.system, cursor, limit)
        return super().read_changes(kind, cursor, limit)

    def classify(self, change: NativeChange) -> str:
        """``won`` for an opportunity at a won stage, else ``changed`` or ``deleted``."""
        if change.deleted:
            return "deleted"
        if change.kind == "opportunity":
            record = change.payload.get("Opportunity") or {}
            if record.get("IsWon") is True or record.get("StageName") == "Closed Won":
                return "won"
        return "changed"

    def related(self, change: NativeChange, kind: str) -> NativeChange | None:
        """The Account that travels with an opportunity, as a customer change."""
        account = change.payload.get("Account")
        if change.kind != "opportunity" or kind != "customer" or not isinstance(account, dict):
            return None
        return NativeChange(
            kind="customer",
            native_id=str(account.get("Id", "")),
            version=str(account.get("SystemModstamp", change.version)),
            changed_at=change.changed_at,
            payload={"Account": account},
        )

    def to_canonical(self, change: NativeChange) -> BaseModel:
        """Map a change read by ``read_changes``. Raises ContractViolation on bad data."""
        if change.kind == "opportunity":
            return mapping.opportunity_from_native(change.payload, self.system)
        if change.kind == "customer":
            return mapping.customer_from_native(change.payload.get("Account") or {}, self.system)
        return super().to_canonical(change)

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        """Upsert a customer as an Account keyed by ``Hub_Id__c`` = the canonical id."""
        if kind != "customer":
            return super().upsert(kind, record, refs)
        customer = self._customer(record)
        url = self._url(f"/sobjects/Account/Hub_Id__c/{quote(customer.id, safe='')}")
        response = self._http.request("PATCH", url, json=mapping.account_from_customer(customer))
        if response.status_code == 300:
            raise self._duplicates(customer.id)
        if response.status_code == 204:  # before v46.0 an update answers 204 with no body
            native_id = self.find("customer", customer.id)
            expect(self.system, native_id is not None, "upserted Account cannot be found")
            return UpsertResult(native_id=str(native_id), created=False)
        body = self._http.json(response)
        expect(
            self.system,
            isinstance(body, dict) and isinstance(body.get("id"), str),
            "upsert result without id",
        )
        return UpsertResult(native_id=body["id"], created=response.status_code == 201)

    def upsert_many(
        self, kind: str, items: Sequence[tuple[BaseModel, Mapping[str, str]]]
    ) -> list[UpsertResult]:
        """Upsert customers 200 per call (sObject Collections), keyed like ``upsert``.

        Raises:
            RecordRejected: Some records were refused (the others are written); it names each.
        """
        if kind != "customer":
            return super().upsert_many(kind, items)
        customers = [self._customer(record) for record, _ in items]
        return upsert_collection(
            self._http,
            self._url("/composite/sobjects/Account/Hub_Id__c"),
            "Account",
            "Hub_Id__c",
            [(c.id, mapping.account_from_customer(c)) for c in customers],
        )

    def parse_cdc(self, body: bytes | str | Mapping[str, Any]) -> list[NativeChange]:
        """The changes a pushed batch of change events reports, records read back in full.

        See ``interlock.connectors.salesforce.cdc``. Raises MalformedResponse for a body that
        is not a push, and ConnectorError when reading the records fails.
        """
        return changes_from_events(self.query, self.system, read_events(body, self.system))

    def is_own_change(self, change: NativeChange) -> bool:
        """Whether the hub made this change: every event behind it names ``client_name``.

        Only changes from ``parse_cdc`` can tell; polled changes return False.
        """
        events = change.payload.get("ChangeEvents")
        if not isinstance(events, list) or not events:
            return False
        origins = [
            str(e.get("payload", {}).get("ChangeEventHeader", {}).get("changeOrigin", ""))
            for e in events
            if isinstance(e, dict)
        ]
        return len(origins) == len(events) and all(
            client_of(o) == self.config.client_name for o in origins
        )

    def find(self, kind: str, canonical_id: str) -> str | None:
        """The Account id whose ``Hub_Id__c`` is ``canonical_id``, or None."""
        if kind != "customer":
            return super().find(kind, canonical_id)
        literal = changes.soql_quote(canonical_id)
        soql = f"SELECT Id FROM Account WHERE Hub_Id__c = {literal}"  # noqa: S608 - quoted
        found = [str(r.get("Id")) for r in self.query(soql)]
        if len(found) > 1:
            raise self._duplicates(canonical_id)
        return found[0] if found else None

    def query(self, soql: str, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Run SOQL; yield every record without ``attributes``, page after page.

        Pages are followed through ``nextRecordsUrl``; ``include_deleted`` uses ``queryAll``.
        """
        headers = {"Sforce-Query-Options": f"batchSize={self.config.page_size}"}
        resource = "/queryAll" if include_deleted else "/query"
        response = self._http.request(
            "GET", self._url(resource), params={"q": soql}, headers=headers
        )
        while True:
            page = self._http.json(response)
            expect(
                self.system,
                isinstance(page, dict) and isinstance(page.get("records"), list),
                "query result without records",
            )
            for record in page["records"]:
                expect(self.system, isinstance(record, dict), "query record is not an object")
                yield {k: v for k, v in record.items() if k != "attributes"}
            if page.get("done", True):
                return
            next_url = page.get("nextRecordsUrl")
            expect(
                self.system,
                isinstance(next_url, str) and next_url.startswith("/"),
                "query result not done but without nextRecordsUrl",
            )
            response = self._http.request(
                "GET", self._auth.session().instance_url + str(next_url), headers=headers
            )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _customer(self, record: BaseModel) -> Customer:
        if isinstance(record, Customer):
            return record
        return validate_contract(
            Customer, record.model_dump(), subject=f"customer for {self.system}"
        )

    def _url(self, path: str) -> str:
        instance = self._auth.session().instance_url
        return f"{instance}/services/data/v{self.config.api_version}{path}"

    def _duplicates(self, canonical_id: str) -> RecordRejected:
        error = RecordRejected(
            self.system,
            f"several Accounts have Hub_Id__c = {canonical_id!r}; merge them",
            status=300,
            fields=("Hub_Id__c",),
        )
        error.team = Team.SALES_OPS
        return error
