"""Salesforce sandbox: the JWT bearer flow, sessions acting as users, the rolling API budget."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette

from interlock.sandbox.salesforce import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SalesforceState
from interlock.sandbox.salesforce import create_app as create_org
from interlock.sandbox.server import SandboxServer

API = "/services/data/v62.0"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CONSUMER_KEY = "3MVG9hub"
USER = "integration@acme.example"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


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
    server: tuple[SandboxServer, Starlette], clock: Clock, key: rsa.RSAPrivateKey
) -> Iterator[SalesforceState]:
    fresh = SalesforceState(clock=clock)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fresh.register_jwt_app(CONSUMER_KEY, public, users={USER})
    server[1].state.sandbox = fresh
    yield fresh
    fresh.close()


@pytest.fixture
def http(server: tuple[SandboxServer, Starlette], state: SalesforceState) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0].base_url) as client:
        yield client


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(key: rsa.RSAPrivateKey, header: dict[str, Any] | None = None, **claims: Any) -> str:
    body = {
        "iss": CONSUMER_KEY,
        "sub": USER,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
        **claims,
    }
    signing = (
        f"{b64(json.dumps(header or {'alg': 'RS256'}).encode())}.{b64(json.dumps(body).encode())}"
    )
    signature = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing}.{b64(signature)}"


def jwt_login(http: httpx.Client, token: str) -> httpx.Response:
    return http.post("/services/oauth2/token", data={"grant_type": JWT_GRANT, "assertion": token})


def login(http: httpx.Client) -> str:
    response = http.post(
        "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    return str(response.json()["access_token"])


def test_jwt_bearer_flow_issues_a_session_acting_as_the_user_without_refresh_token(
    http: httpx.Client, state: SalesforceState, key: rsa.RSAPrivateKey
) -> None:
    response = jwt_login(http, assertion(key))
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"access_token", "instance_url", "id", "token_type", "issued_at", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == str(http.base_url).rstrip("/")
    user_id = state.access.usernames[USER]
    assert body["id"].endswith(f"/{state.org_id}/{user_id}")
    created = http.post(
        f"{API}/sobjects/Account/",
        json={"Name": "Acme"},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    record = state.get("Account", created.json()["id"])
    assert record is not None
    assert record["CreatedById"] == record["LastModifiedById"] == user_id != state.user_id


@pytest.mark.parametrize(
    ("claims", "header", "error", "description"),
    [
        ({"iss": "unknown-app"}, None, "invalid_client_id", "client identifier invalid"),
        ({"aud": "https://evil.example"}, None, "invalid_grant", "audience is invalid"),
        ({"exp": int(time.time()) - 5}, None, "invalid_grant", "expired authorization code"),
        ({"exp": None}, None, "invalid_grant", "expired authorization code"),
        (
            {"sub": "someone@acme.example"},
            None,
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        ({}, {"alg": "HS256"}, "invalid_grant", "invalid assertion"),
    ],
)
def test_jwt_bearer_refusals_are_oauth_errors_as_salesforce_words_them(
    http: httpx.Client,
    key: rsa.RSAPrivateKey,
    claims: dict[str, Any],
    header: dict[str, Any] | None,
    error: str,
    description: str,
) -> None:
    response = jwt_login(http, assertion(key, header, **claims))
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_jwt_signed_by_another_key_or_mangled_is_an_invalid_assertion(
    http: httpx.Client, key: rsa.RSAPrivateKey
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt_login(http, assertion(stranger))
    head, claims, signature = assertion(key).split(".")
    other = json.loads(base64.urlsafe_b64decode(claims + "=="))
    other["sub"] = "admin@acme.example"
    tampered = jwt_login(http, f"{head}.{b64(json.dumps(other).encode())}.{signature}")
    garbage = jwt_login(http, "not-a-jwt")
    missing = http.post("/services/oauth2/token", data={"grant_type": JWT_GRANT})
    for response in (forged, tampered, garbage):
        assert response.json() == {
            "error": "invalid_grant",
            "error_description": "invalid assertion",
        }
    assert missing.json()["error"] == "invalid_request"


def test_accepts_the_org_url_as_audience_and_exp_as_a_string(
    http: httpx.Client, key: rsa.RSAPrivateKey
) -> None:
    org_audience = str(http.base_url).rstrip("/")
    assert jwt_login(http, assertion(key, aud=org_audience)).status_code == 200
    as_text = jwt_login(http, assertion(key, exp=str(int(time.time()) + 60)))
    assert as_text.status_code == 200  # simple-salesforce sends exp as a string


def test_a_certificate_can_be_registered_instead_of_a_public_key(
    http: httpx.Client, state: SalesforceState, key: rsa.RSAPrivateKey
) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    state.register_jwt_app("cert-app", cert.public_bytes(serialization.Encoding.PEM), ["a@b.c"])
    response = jwt_login(http, assertion(key, iss="cert-app", sub="a@b.c"))
    assert response.status_code == 200


def test_budget_is_a_rolling_24_hours_and_the_refusal_says_when_it_refills(
    http: httpx.Client, state: SalesforceState, clock: Clock
) -> None:
    state.api_limit = 3
    token = login(http)
    auth = {"Authorization": f"Bearer {token}"}

    def call() -> httpx.Response:
        return http.get(f"{API}/sobjects", headers=auth)

    call()
    clock.advance(hours=10)
    call()
    call()
    refused = call()
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["Retry-After"] == str(14 * 3600)  # the first call leaves then
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    clock.advance(hours=14)
    refilled = call()
    assert refilled.status_code == 200
    assert refilled.headers["Sforce-Limit-Info"] == "api-usage=3/3"  # one left, one came
    clock.advance(hours=10)
    assert call().headers["Sforce-Limit-Info"] == "api-usage=2/3"


def test_token_requests_are_free_even_when_the_budget_is_spent(
    http: httpx.Client, state: SalesforceState
) -> None:
    state.api_limit = 0
    token = login(http)
    refused = http.get(f"{API}/sobjects", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert refused.headers["Retry-After"] == "86400"
    assert state.api_usage == 0
