"""Salesforce connector against the sandbox: JWT bearer sign-in, the daily request budget."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from starlette.applications import Starlette

from interlock.connectors.salesforce import SalesforceConfig, SalesforceConnector
from interlock.connectors.salesforce.limits import ApiLimits
from interlock.exceptions import AuthenticationFailed, RateLimited
from interlock.model import Customer
from interlock.sandbox.salesforce import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SalesforceState
from interlock.sandbox.salesforce import create_app as create_org
from interlock.sandbox.server import SandboxServer

SYSTEM = "salesforce"
CONSUMER_KEY = "3MVG9hub"
USER = "integration@acme.example"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[SandboxServer, Starlette]]:
    app = create_org()
    with SandboxServer(app) as running:
        yield running, app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(
    server: tuple[SandboxServer, Starlette], key: rsa.RSAPrivateKey, clock: Clock
) -> Iterator[SalesforceState]:
    fresh = SalesforceState(clock=clock)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fresh.register_jwt_app(CONSUMER_KEY, public, users=[USER])
    server[1].state.sandbox = fresh
    yield fresh
    fresh.close()


def jwt_config(base_url: str, key: rsa.RSAPrivateKey, **changes: str) -> SalesforceConfig:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    settings = {"client_id": CONSUMER_KEY, "username": USER, **changes}
    return SalesforceConfig(
        base_url=base_url,
        auth_flow="jwt_bearer",
        private_key_pem=SecretStr(pem),
        timeout_seconds=5,
        **settings,
    )


@pytest.fixture
def connector(
    server: tuple[SandboxServer, Starlette], state: SalesforceState
) -> Iterator[SalesforceConnector]:
    config = SalesforceConfig(
        base_url=server[0].base_url,
        client_id=DEMO_CLIENT_ID,
        client_secret=SecretStr(DEMO_CLIENT_SECRET),
        timeout_seconds=5,
    )
    instance = SalesforceConnector(SYSTEM, config)
    yield instance
    instance.close()


def test_jwt_bearer_connector_writes_as_the_configured_user(
    server: tuple[SandboxServer, Starlette], state: SalesforceState, key: rsa.RSAPrivateKey
) -> None:
    connector = SalesforceConnector(SYSTEM, jwt_config(server[0].base_url, key))
    result = connector.upsert("customer", Customer(id="customer_1", name="Acme"))
    state.expire_tokens()  # the session ends; a fresh assertion signs in again
    again = connector.upsert("customer", Customer(id="customer_1", name="Acme SA"))
    connector.close()
    assert (result.created, again.created) == (True, False)
    [account] = state.records("Account")
    assert account["LastModifiedById"] == state.access.usernames[USER]
    assert account["Name"] == "Acme SA"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"username": "stranger@acme.example"}, "user hasn't approved this consumer"),
        ({"jwt_audience": "https://evil.example"}, "audience is invalid"),
        ({"client_id": "unknown"}, "client identifier invalid"),
    ],
)
def test_refused_jwt_sign_in_says_why_without_the_key(
    server: tuple[SandboxServer, Starlette],
    state: SalesforceState,
    key: rsa.RSAPrivateKey,
    changes: dict[str, str],
    reason: str,
) -> None:
    config = jwt_config(server[0].base_url, key, **changes)
    connector = SalesforceConnector(SYSTEM, config)
    with pytest.raises(AuthenticationFailed) as caught:
        connector.authenticate()
    connector.close()
    assert reason in str(caught.value)
    assert "jwt_bearer" in str(caught.value)
    assert not caught.value.retryable
    assert "PRIVATE KEY" not in str(caught.value)


def test_every_response_updates_the_known_limits(
    connector: SalesforceConnector, state: SalesforceState
) -> None:
    assert connector.limits is None
    state.api_limit = 50
    connector.find("customer", "customer_1")
    connector.find("customer", "customer_1")
    limits: ApiLimits | None = connector.limits
    assert limits == ApiLimits(used=2, limit=50)
    assert limits is not None
    assert limits.remaining == 48


def test_spent_budget_pauses_until_the_window_refills_without_more_requests(
    connector: SalesforceConnector, state: SalesforceState, clock: Clock
) -> None:
    state.api_limit = 2
    connector.find("customer", "customer_1")
    clock.now += dt.timedelta(hours=5)
    connector.find("customer", "customer_1")
    with pytest.raises(RateLimited) as caught:
        connector.find("customer", "customer_1")
    assert (caught.value.status, caught.value.code) == (403, "REQUEST_LIMIT_EXCEEDED")
    assert caught.value.retry_after == 19 * 3600  # the first request leaves the 24 h window
    assert connector.limits == ApiLimits(used=2, limit=2)
    state.api_limit = 1000  # the org would answer now, but the connector keeps its pause
    with pytest.raises(RateLimited) as paused:
        connector.upsert("customer", Customer(id="customer_1", name="Acme"))
    assert paused.value.retry_after is not None
    assert 19 * 3600 - 60 < paused.value.retry_after <= 19 * 3600
    assert state.api_usage == 2  # nothing was sent while paused
    assert state.records("Account") == []


def test_limit_refusal_without_retry_after_pauses_for_the_configured_time(
    server: tuple[SandboxServer, Starlette], state: SalesforceState
) -> None:
    faults = server[1].state.faults
    config = SalesforceConfig(
        base_url=server[0].base_url,
        client_id=DEMO_CLIENT_ID,
        client_secret=SecretStr(DEMO_CLIENT_SECRET),
        limit_pause_seconds=120,
    )
    connector = SalesforceConnector(SYSTEM, config)
    connector.authenticate()
    faults.fail_next(403)  # Salesforce's own refusal: no Retry-After
    try:
        with pytest.raises(RateLimited) as caught:
            connector.find("customer", "customer_1")
    finally:
        faults.clear()
        connector.close()
    assert caught.value.retry_after == 120
