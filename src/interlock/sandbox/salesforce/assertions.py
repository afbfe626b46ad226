"""Checking the signed JWT of the OAuth 2.0 JWT bearer flow, as the org's token endpoint does.

The assertion is ``base64url(header).base64url(claims).base64url(signature)`` with
``alg: RS256``, signed by the private key whose certificate was uploaded to the connected app.
Claims: ``iss`` (consumer key), ``sub`` (username), ``aud`` (``https://login.salesforce.com``,
``https://test.salesforce.com`` or the org's own URL) and ``exp`` (seconds since the epoch; a
number or, as some clients send it, a string of digits). Refusals carry Salesforce's
``error`` / ``error_description`` pairs.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

LOGIN_AUDIENCES = frozenset({"https://login.salesforce.com", "https://test.salesforce.com"})


class AssertionRefused(Exception):
    """The token endpoint refuses the assertion with ``{error, error_description}``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass(frozen=True)
class JwtApp:
    """A connected app allowed the JWT bearer flow.

    Attributes:
        consumer_key: The ``iss`` its assertions carry.
        public_key: Checks their signatures.
        users: Pre-authorised usernames (admin-approved), username → user id.
    """

    consumer_key: str
    public_key: rsa.RSAPublicKey = field(repr=False)
    users: dict[str, str]


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """The RSA public key of a PEM certificate (as uploaded to a connected app) or public key.

    Raises:
        ValueError: Not a PEM certificate or public key, or not RSA.
    """
    data = pem.encode() if isinstance(pem, str) else pem
    if b"BEGIN CERTIFICATE" in data:
        key: Any = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the JWT bearer flow needs an RSA key (RS256)")
    return key


def verify(
    assertion: str, apps: dict[str, JwtApp], audiences: frozenset[str], now: float | None = None
) -> tuple[JwtApp, str]:
    """Check an assertion; return the app and the username it signs in.

    Raises:
        AssertionRefused: With the error Salesforce would send.
    """
    header, claims, signing_input, signature = _split(assertion)
    if header.get("alg") != "RS256":
        raise AssertionRefused("invalid_grant", "invalid assertion")
    app = apps.get(str(claims.get("iss", "")))
    if app is None:
        raise AssertionRefused("invalid_client_id", "client identifier invalid")
    try:
        app.public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise AssertionRefused("invalid_grant", "invalid assertion") from None
    audience = claims.get("aud")
    listed = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(a, str) and a.rstrip("/") in audiences for a in listed):
        raise AssertionRefused("invalid_grant", "audience is invalid")
    expires = _seconds(claims.get("exp"))
    if expires is None or expires <= (time.time() if now is None else now):
        raise AssertionRefused("invalid_grant", "expired authorization code")
    username = str(claims.get("sub", ""))
    if username not in app.users:
        raise AssertionRefused("invalid_grant", "user hasn't approved this consumer")
    return app, username


def _split(assertion: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    parts = assertion.split(".")
    if len(parts) != 3:
        raise AssertionRefused("invalid_grant", "invalid assertion")
    try:
        header = orjson.loads(_unb64(parts[0]))
        claims = orjson.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise AssertionRefused("invalid_grant", "invalid assertion") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise AssertionRefused("invalid_grant", "invalid assertion")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), signature


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.isdigit():
        return float(value)
    return None
