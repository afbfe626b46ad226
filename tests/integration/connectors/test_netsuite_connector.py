"""The NetSuite connector against the NetSuite sandbox over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interlock.connectors.base import UpsertResult
from interlock.connectors.netsuite import NetSuiteConfig, NetSuiteConnector
from interlock.exceptions import (
    AuthenticationFailed,
    ConfigError,
    ConnectorUnavailable,
    ContractViolation,
    MalformedResponse,
    RateLimited,
    RecordRejected,
)
from interlock.model import BillingType, Customer, Project, canonical_id
from interlock.sandbox.faults import FaultPlan, Faults
from interlock.sandbox.netsuite import NetSuiteState, create_app
from interlock.sandbox.server import SandboxServer

ACCOUNT = "1234567_SB1"


class Clock:
    """A settable UTC clock for record timestamps."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def pem_pair(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
def rsa_pem() -> tuple[str, str]:
    return pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock, rsa_pem: tuple[str, str]) -> NetSuiteState:
    state = NetSuiteState(account_id=ACCOUNT, clock=clock)
    state.register_client("client-1", "cert-1", rsa_pem[1])
    state.register_tba("ck", "cs", "tid", "ts")
    return state


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def server(state: NetSuiteState, faults: Faults) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(state, faults)) as server:
        yield server


def m2m_config(base_url: str, private_pem: str, **overrides: Any) -> NetSuiteConfig:
    values = {
        "base_url": base_url,
        "account_id": ACCOUNT,
        "client_id": "client-1",
        "certificate_id": "cert-1",
        "private_key_pem": private_pem,
        **overrides,
    }
    return NetSuiteConfig.model_validate(values)


@pytest.fixture
def connector(server: SandboxServer, rsa_pem: tuple[str, str]) -> Iterator[NetSuiteConnector]:
    connector = NetSuiteConnector("netsuite", m2m_config(server.base_url, rsa_pem[0]))
    yield connector
    connector.close()


@pytest.fixture
def tba(server: SandboxServer) -> Iterator[NetSuiteConnector]:
    config = NetSuiteConfig(
        base_url=server.base_url,
        account_id=ACCOUNT,
        auth_method="tba",
        consumer_key="ck",
        consumer_secret="cs",
        token_id="tid",
        token_secret="ts",
    )
    connector = NetSuiteConnector("netsuite", config)
    yield connector
    connector.close()


def customer(**overrides: Any) -> Customer:
    values = {
        "id": "customer_acme",
        "name": "Acme Ltd",
        "currency": "EUR",
        "billing_address": {
            "street": "1 Main St",
            "city": "London",
            "postal_code": "EC1A 1BB",
            "country": "GB",
        },
        **overrides,
    }
    return Customer.model_validate(values)


def project(**overrides: Any) -> Project:
    values = {
        "id": "project_erp",
        "name": "ERP Rollout",
        "customer_id": "customer_acme",
        "start_date": "2026-04-01",
        "end_date": "2026-09-30",
        "billing_type": "fixed_fee",
        "po_number": "4500012345",
        **overrides,
    }
    return Project.model_validate(values)


# -- writes ----------------------------------------------------------------------------------


def test_customer_upsert_twice_leaves_one_record(
    connector: NetSuiteConnector, state: NetSuiteState
) -> None:
    first = connector.upsert("customer", customer())
    second = connector.upsert("customer", customer(name="Acme Limited"))
    assert (first.native_id, first.created) == ("1", True)
    assert (second.native_id, second.created) == ("1", False)
    [record] = state.records("customer")
    assert record["externalId"] == "customer_acme"
    assert record["companyName"] == "Acme Limited"
    assert (record["subsidiary"], record["currency"]) == ("1", "2")  # EUR is currency 2
    assert record["defaultAddress"] == "1 Main St\nLondon\nEC1A 1BB\nGB"


def test_project_upsert_writes_a_job_under_the_customer(
    connector: NetSuiteConnector, state: NetSuiteState
) -> None:
    customer_id = connector.upsert("customer", customer()).native_id
    result = connector.upsert("project", project(), refs={"customer": customer_id})
    again = connector.upsert("project", project(), refs={"customer": customer_id})
    assert result.created is True
    assert again == UpsertResult(result.native_id, created=False)
    [job] = state.records("job")
    assert job["parent"] == customer_id
    assert job["companyName"] == "ERP Rollout"
    assert (job["startDate"], job["projectedEndDate"]) == (
        dt.date(2026, 4, 1),
        dt.date(2026, 9, 30),
    )
    assert job["jobBillingType"] == "2"
    assert job["comments"] == "PO: 4500012345"


def test_project_upsert_without_customer_ref_is_a_programming_error(
    connector: NetSuiteConnector,
) -> None:
    with pytest.raises(ValueError, match="customer"):
        connector.upsert("project", project())


def test_find_by_canonical_id(connector: NetSuiteConnector) -> None:
    native_id = connector.upsert("customer", customer()).native_id
    assert connector.find("customer", "customer_acme") == native_id
    assert connector.find("customer", "customer_unknown") is None
    assert connector.find("project", "project_erp") is None


def test_currency_not_set_up_is_rejected_before_writing(
    connector: NetSuiteConnector, state: NetSuiteState
) -> None:
    with pytest.raises(RecordRejected) as caught:
        connector.upsert("customer", customer(currency="NOK"))
    assert caught.value.fields == ("currency",)
    assert "NOK" in caught.value.message
    assert state.records("customer") == []


def test_validation_error_names_the_field(connector: NetSuiteConnector) -> None:
    with pytest.raises(RecordRejected) as caught:
        connector.upsert("project", project(), refs={"customer": "999"})
    assert caught.value.code == "INVALID_KEY_OR_REF"
    assert caught.value.fields == ("parent",)
    assert caught.value.status == 400


def test_external_id_netsuite_refuses_is_rejected(connector: NetSuiteConnector) -> None:
    with pytest.raises(RecordRejected) as caught:
        connector.upsert("customer", customer(id="customer.with.dots", currency=None))
    assert caught.value.fields == ("externalId",)


# -- error translation -----------------------------------------------------------------------


def test_injected_429_is_rate_limited_with_retry_after(
    connector: NetSuiteConnector, faults: Faults
) -> None:
    connector.authenticate()
    faults.fail_next(429, 429, 429)  # reads are retried twice inline
    with pytest.raises(RateLimited) as caught:
        connector.find("customer", "customer_acme")
    assert caught.value.retry_after == 1.0
    assert caught.value.code == "SSS_REQUEST_LIMIT_EXCEEDED"
    assert caught.value.retryable


def test_concurrency_limit_is_rate_limited(
    connector: NetSuiteConnector, state: NetSuiteState
) -> None:
    state.concurrency_limit = 0
    with pytest.raises(RateLimited) as caught:
        connector.upsert("customer", customer(currency=None))
    assert caught.value.status == 429
    state.concurrency_limit = 5
    assert connector.upsert("customer", customer(currency=None)).created is True


def test_5xx_is_connector_unavailable(connector: NetSuiteConnector, faults: Faults) -> None:
    connector.authenticate()
    faults.fail_next(503, 503, 503)  # reads are retried twice inline
    with pytest.raises(ConnectorUnavailable) as caught:
        connector.find("customer", "customer_acme")
    assert caught.value.status == 503
    assert caught.value.retryable


def test_body_that_is_not_json_is_malformed(connector: NetSuiteConnector, faults: Faults) -> None:
    connector.upsert("customer", customer(currency=None))
    faults.set(FaultPlan(malformed_rate=1.0))
    with pytest.raises(MalformedResponse):
        connector.find("customer", "customer_acme")


class DropLocation:
    """Test wrapper: removes the Location header from every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def without_location(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, v) for k, v in message["headers"] if k.lower() != b"location"
                ]
            await send(message)

        await self.app(scope, receive, without_location)


def test_write_without_location_header_is_malformed(
    state: NetSuiteState, rsa_pem: tuple[str, str]
) -> None:
    with SandboxServer(DropLocation(create_app(state))) as server:
        connector = NetSuiteConnector("netsuite", m2m_config(server.base_url, rsa_pem[0]))
        try:
            with pytest.raises(MalformedResponse, match="Location"):
                connector.upsert("customer", customer(currency=None))
        finally:
            connector.close()


def test_expired_token_is_refreshed_once_and_the_call_succeeds(
    connector: NetSuiteConnector, state: NetSuiteState
) -> None:
    connector.authenticate()
    assert state.tokens_issued == 1
    state.expire_tokens()
    assert connector.upsert("customer", customer(currency=None)).created is True
    assert state.tokens_issued == 2


def test_unregistered_certificate_fails_authentication(
    server: SandboxServer, rsa_pem: tuple[str, str]
) -> None:
    config = m2m_config(server.base_url, rsa_pem[0], certificate_id="cert-unknown")
    connector = NetSuiteConnector("netsuite", config)
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            connector.find("customer", "customer_acme")
    finally:
        connector.close()
    assert caught.value.code == "invalid_client"
    assert not caught.value.retryable
    assert "PRIVATE KEY" not in str(caught.value)


def test_es256_key_signs_in(server: SandboxServer, state: NetSuiteState) -> None:
    private, public = pem_pair(ec.generate_private_key(ec.SECP256R1()))
    state.register_client("client-ec", "cert-ec", public)
    config = m2m_config(
        server.base_url,
        private,
        client_id="client-ec",
        certificate_id="cert-ec",
        signing_algorithm="ES256",
    )
    connector = NetSuiteConnector("netsuite", config)
    try:
        connector.authenticate()
        assert connector.find("customer", "customer_acme") is None
    finally:
        connector.close()


def test_key_that_does_not_suit_the_algorithm_is_a_config_error(
    server: SandboxServer, rsa_pem: tuple[str, str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        NetSuiteConnector(
            "netsuite", m2m_config(server.base_url, rsa_pem[0], signing_algorithm="ES256")
        )
    assert caught.value.key == "private_key_pem"
    with pytest.raises(ConfigError):
        NetSuiteConnector("netsuite", m2m_config(server.base_url, "not a key"))


def test_tba_connector_writes_and_reads(tba: NetSuiteConnector, state: NetSuiteState) -> None:
    tba.authenticate()
    result = tba.upsert("customer", customer())
    assert tba.find("customer", "customer_acme") == result.native_id
    assert tba.read_changes("customer", None).changes[0].native_id == result.native_id
    assert state.records("customer")[0]["companyName"] == "Acme Ltd"


def test_tba_with_a_wrong_secret_fails_authentication(server: SandboxServer) -> None:
    config = NetSuiteConfig(
        base_url=server.base_url,
        account_id=ACCOUNT,
        auth_method="tba",
        consumer_key="ck",
        consumer_secret="cs",
        token_id="tid",
        token_secret="wrong",
    )
    connector = NetSuiteConnector("netsuite", config)
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            connector.authenticate()
    finally:
        connector.close()
    assert caught.value.code == "INVALID_LOGIN"


# -- changes ---------------------------------------------------------------------------------


def test_read_changes_pages_through_same_second_records_in_order(
    connector: NetSuiteConnector, clock: Clock
) -> None:
    for i in range(3):
        connector.upsert("customer", customer(id=f"customer_{i}", name=f"Customer {i}"))
    first = connector.read_changes("customer", None, limit=2)
    assert [c.native_id for c in first.changes] == ["1", "2"]
    assert first.more is True
    assert first.cursor == "2026-03-02T09:00:00Z|2"
    second = connector.read_changes("customer", first.cursor, limit=2)
    assert [c.native_id for c in second.changes] == ["3"]
    assert (second.more, second.cursor) == (False, "2026-03-02T09:00:00Z")
    assert second.changes[0].changed_at == dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    # Caught up: the last second is read again, with the same versions (duplicates).
    again = connector.read_changes("customer", second.cursor)
    earlier = {c.native_id: c.version for c in first.changes + second.changes}
    assert {c.native_id: c.version for c in again.changes} == earlier


def test_a_change_within_the_same_second_gets_a_new_version(
    connector: NetSuiteConnector,
) -> None:
    connector.upsert("customer", customer())
    page = connector.read_changes("customer", None)
    connector.upsert("customer", customer(name="Acme Renamed"))
    later = connector.read_changes("customer", page.cursor)
    assert [c.native_id for c in later.changes] == ["1"]
    assert later.changes[0].version != page.changes[0].version
    renamed = connector.to_canonical(later.changes[0])
    assert isinstance(renamed, Customer)
    assert renamed.name == "Acme Renamed"


def test_read_changes_after_cursor_skips_older_records(
    connector: NetSuiteConnector, clock: Clock
) -> None:
    connector.upsert("customer", customer(id="customer_old", currency=None))
    cursor = connector.read_changes("customer", None).cursor
    clock.advance(120)
    connector.upsert("customer", customer(id="customer_new", currency=None))
    page = connector.read_changes("customer", cursor)
    assert [c.payload["externalid"] for c in page.changes] == ["customer_old", "customer_new"]
    newer = connector.read_changes("customer", page.cursor)
    assert [c.payload["externalid"] for c in newer.changes] == ["customer_new"]


def test_customer_round_trips_through_netsuite(connector: NetSuiteConnector) -> None:
    original = customer()
    connector.upsert("customer", original)
    [change] = connector.read_changes("customer", None).changes
    assert connector.to_canonical(change) == original


def test_project_round_trips_with_the_customer_canonical_id(
    connector: NetSuiteConnector,
) -> None:
    customer_id = connector.upsert("customer", customer()).native_id
    original = project()
    connector.upsert("project", original, refs={"customer": customer_id})
    [change] = connector.read_changes("project", None).changes
    assert connector.to_canonical(change) == original
    assert change.payload["parent_externalid"] == "customer_acme"


def test_job_made_by_hand_maps_with_derived_ids_or_names_what_is_missing(
    connector: NetSuiteConnector, state: NetSuiteState
) -> None:
    parent = state.create("customer", {"companyName": "Walk-in Co", "subsidiary": {"id": "1"}})
    state.create(
        "job",
        {
            "companyName": "Ad hoc",
            "parent": {"id": parent},
            "startDate": "2026-05-01",
            "projectedEndDate": "2026-05-31",
            "jobBillingType": {"id": "4"},
        },
    )
    state.create("job", {"companyName": "No dates", "parent": {"id": parent}})
    complete, incomplete = connector.read_changes("project", None).changes
    mapped = connector.to_canonical(complete)
    assert isinstance(mapped, Project)
    assert mapped.id == canonical_id("project", "netsuite", complete.native_id)
    assert mapped.customer_id == canonical_id("customer", "netsuite", parent)
    assert mapped.billing_type is BillingType.TIME_AND_MATERIALS
    with pytest.raises(ContractViolation) as caught:
        connector.to_canonical(incomplete)
    assert {p.field for p in caught.value.problems} == {"start_date", "end_date", "billing_type"}


def test_secrets_stay_out_of_reprs(rsa_pem: tuple[str, str]) -> None:
    config = m2m_config("https://1234567-sb1.suitetalk.api.netsuite.com", rsa_pem[0])
    tba_config = NetSuiteConfig(
        base_url="https://x.test",
        account_id=ACCOUNT,
        auth_method="tba",
        consumer_key="ck-secret-value",
        consumer_secret="cs-secret-value",
        token_id="tid-secret-value",
        token_secret="ts-secret-value",
    )
    text = repr(config) + str(config.model_dump()) + repr(tba_config)
    assert "PRIVATE KEY" not in text
    assert "secret-value" not in text
