"""Salesforce connector: config rules, the JWT assertion, limit headers, CDC push checks."""

from __future__ import annotations

import base64
import time

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr, ValidationError

from interlock.connectors.salesforce import SalesforceConfig
from interlock.connectors.salesforce.cdc import client_of, read_events
from interlock.connectors.salesforce.jwt_bearer import load_private_key, signed_assertion
from interlock.connectors.salesforce.limits import ApiLimits, parse_limit_info
from interlock.exceptions import MalformedResponse
from interlock.sandbox.salesforce.assertions import (
    LOGIN_AUDIENCES,
    AssertionRefused,
    JwtApp,
    verify,
)

BASE = "https://acme.my.salesforce.com"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_client_credentials_is_the_default_and_needs_the_secret() -> None:
    with pytest.raises(ValidationError, match="auth_flow 'client_credentials' needs client_secret"):
        SalesforceConfig(base_url=BASE, client_id="app")
    config = SalesforceConfig(base_url=BASE, client_id="app", client_secret=SecretStr("s"))
    assert config.auth_flow == "client_credentials"
    assert config.client_name == "interlock"


def test_jwt_bearer_names_every_missing_field() -> None:
    with pytest.raises(ValidationError, match="needs username, private_key_pem"):
        SalesforceConfig(base_url=BASE, client_id="app", auth_flow="jwt_bearer")


def test_a_bad_key_is_refused_without_echoing_it(key: rsa.RSAPrivateKey) -> None:
    secret = "-----BEGIN PRIVATE KEY-----\nTOPSECRETBYTES\n-----END PRIVATE KEY-----"
    with pytest.raises(ValidationError) as caught:
        SalesforceConfig(
            base_url=BASE,
            client_id="app",
            auth_flow="jwt_bearer",
            username="u@acme.example",
            private_key_pem=secret,
        )
    assert "not an unencrypted PEM private key" in str(caught.value)
    assert "TOPSECRETBYTES" not in str(caught.value)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ValueError, match="must be an RSA key"):
        load_private_key(SecretStr(pem(ec_key)))
    config = SalesforceConfig(
        base_url=BASE,
        client_id="app",
        auth_flow="jwt_bearer",
        username="u@acme.example",
        private_key_pem=SecretStr(pem(key)),
    )
    assert "BEGIN PRIVATE KEY" not in repr(config)


def test_the_assertion_is_an_rs256_jwt_the_org_accepts(key: rsa.RSAPrivateKey) -> None:
    now = time.time()
    token = signed_assertion(
        key, consumer_key="app", username="u@acme.example", audience=BASE, now=now
    )
    header, claims = (
        orjson.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
        for p in token.split(".")[:2]
    )
    assert header == {"alg": "RS256"}
    assert claims == {"iss": "app", "sub": "u@acme.example", "aud": BASE, "exp": int(now) + 180}
    app = JwtApp("app", key.public_key(), {"u@acme.example": "005x"})
    assert verify(token, {"app": app}, LOGIN_AUDIENCES | {BASE}, now=now) == (
        app,
        "u@acme.example",
    )
    with pytest.raises(AssertionRefused, match="expired"):
        verify(token, {"app": app}, frozenset({BASE}), now=now + 181)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("api-usage=18/5000", ApiLimits(18, 5000)),
        ("api-usage=25/5000; per-app-api-usage=17/250(appName=hub)", ApiLimits(25, 5000)),
        ("per-app-api-usage=17/250(appName=hub)", None),
        (None, None),
    ],
)
def test_limit_info_header_is_read(header: str | None, expected: ApiLimits | None) -> None:
    assert parse_limit_info(header) == expected


def test_change_origin_names_the_client() -> None:
    assert client_of("com/salesforce/api/rest/62.0;client=interlock") == "interlock"
    assert client_of("com/salesforce/api/rest/62.0") is None
    assert client_of("") is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"events": {}}',
        b'{"events": [{"payload": {}}]}',
        b'{"events": [{"payload": {"ChangeEventHeader": {"entityName": "Account",'
        b' "recordIds": ["001"], "commitTimestamp": 1}}, "event": {}}]}',
    ],
)
def test_a_push_without_what_the_hub_needs_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        read_events(body, "salesforce")
