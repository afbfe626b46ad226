"""The signed assertion of the OAuth 2.0 JWT bearer flow (RFC 7523), made with ``cryptography``.

``header.claims.signature``, each part base64url without padding; header ``{"alg": "RS256"}``;
claims ``iss`` (consumer key), ``sub`` (username), ``aud`` (login URL) and ``exp`` (seconds since
the epoch, a few minutes ahead: the assertion only has to reach the token endpoint).
"""

from __future__ import annotations

import base64
import time

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import SecretStr

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LIFETIME_SECONDS = 180


def load_private_key(pem: SecretStr) -> rsa.RSAPrivateKey:
    """The RSA key of an unencrypted PEM.

    Raises:
        ValueError: Naming the field, never showing the key.
    """
    try:
        key = serialization.load_pem_private_key(pem.get_secret_value().encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("private_key_pem is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("private_key_pem must be an RSA key (Salesforce signs with RS256)")
    return key


def signed_assertion(
    key: rsa.RSAPrivateKey,
    *,
    consumer_key: str,
    username: str,
    audience: str,
    now: float | None = None,
) -> str:
    """A JWT bearer assertion for ``username``, valid for ``LIFETIME_SECONDS``."""
    issued = time.time() if now is None else now
    claims = {
        "iss": consumer_key,
        "sub": username,
        "aud": audience,
        "exp": int(issued) + LIFETIME_SECONDS,
    }
    signing_input = f"{_b64(orjson.dumps({'alg': 'RS256'}))}.{_b64(orjson.dumps(claims))}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
