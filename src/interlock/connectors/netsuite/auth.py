"""Signing in to NetSuite: OAuth 2.0 client credentials (M2M) and token-based auth (TBA).

* M2M: a JWT client assertion (header ``kid`` = certificate id; claims ``iss``, ``scope``,
  ``aud`` = token URL, ``iat``, ``exp``), signed with the certificate's private key, is traded
  at ``/services/rest/auth/oauth2/v1/token`` for a bearer token, cached until shortly before
  it expires and fetched again after a 401.
* TBA: every request carries an OAuth 1.0a ``Authorization`` header signed with HMAC-SHA256
  over the RFC 5849 base string (method, URL, sorted query and ``oauth_*`` parameters).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import urllib.parse
from collections.abc import Generator
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pydantic import SecretStr

from interlock.connectors.http import VendorHttp, expect
from interlock.connectors.netsuite.config import NetSuiteConfig
from interlock.exceptions import (
    AuthenticationFailed,
    ConfigError,
    RecordNotFound,
    RecordRejected,
)

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 - a path, not a secret
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 300
EXPIRY_MARGIN_SECONDS = 60

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_signing_key(config: NetSuiteConfig) -> SigningKey:
    """The certificate's private key; ConfigError when it is unreadable or unsuitable."""
    assert config.private_key_pem is not None
    rule = "must be an unencrypted PEM private key: RSA for PS256/RS256, EC P-256 for ES256"
    try:
        key = serialization.load_pem_private_key(
            config.private_key_pem.get_secret_value().encode(), password=None
        )
    except (ValueError, TypeError):
        raise ConfigError("netsuite config", "private_key_pem", rule) from None
    wants_ec = config.signing_algorithm == "ES256"
    if wants_ec and isinstance(key, ec.EllipticCurvePrivateKey):
        return key
    if not wants_ec and isinstance(key, rsa.RSAPrivateKey):
        return key
    raise ConfigError("netsuite config", "private_key_pem", rule)


def sign_jwt(header: dict[str, Any], claims: dict[str, Any], key: SigningKey) -> str:
    """A compact JWS of ``claims``, signed as ``header["alg"]`` says (PS256, RS256, ES256)."""
    signing_input = f"{b64url(orjson.dumps(header))}.{b64url(orjson.dumps(claims))}".encode()
    alg = header["alg"]
    if alg == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "PS256" and isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        signature = key.sign(signing_input, pss, hashes.SHA256())
    elif alg == "RS256" and isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise ValueError(f"cannot sign {alg} with a {type(key).__name__}")
    return f"{signing_input.decode()}.{b64url(signature)}"


class M2MToken:
    """Obtains, caches and renews an OAuth 2.0 access token for one integration.

    Safe to share between threads: one thread fetches while the others wait, and a 401 only
    drops the token if it is still the one the refused request carried.
    """

    def __init__(self, http: VendorHttp, config: NetSuiteConfig) -> None:
        self._http = http
        self._config = config
        self._key = load_signing_key(config)
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self._lock = threading.RLock()
        self._sent = threading.local()

    def assertion(self, now: float) -> str:
        """A fresh client assertion for the token request."""
        config = self._config
        header = {"typ": "JWT", "alg": config.signing_algorithm, "kid": config.certificate_id}
        claims = {
            "iss": config.client_id,
            "scope": ",".join(config.scopes),
            "aud": f"{config.base_url.rstrip('/')}{TOKEN_PATH}",
            "iat": int(now),
            "exp": int(now) + ASSERTION_SECONDS,
        }
        return sign_jwt(header, claims, self._key)

    def refresh(self) -> None:
        """Trade a new client assertion for an access token. Raises AuthenticationFailed."""
        now = time.time()
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(now),
        }
        try:
            response = self._http.request("POST", TOKEN_PATH, data=form, auth=False)
        except (RecordRejected, RecordNotFound, AuthenticationFailed) as exc:
            raise AuthenticationFailed(
                self._http.system,
                f"token request refused: {exc.message}",
                status=exc.status,
                code=exc.code,
            ) from exc
        body = self._http.json(response)
        system = self._http.system
        expect(system, isinstance(body, dict), "token response is not an object")
        token, lifetime = body.get("access_token"), body.get("expires_in", 3600)
        expect(system, isinstance(token, str) and bool(token), "token response has no token")
        try:
            seconds = float(lifetime)
        except (TypeError, ValueError):
            seconds = 0.0
        self._token = SecretStr(str(token))
        self._expires_at = time.monotonic() + max(0.0, seconds - EXPIRY_MARGIN_SECONDS)

    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header, fetching a token first when none is valid."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self.refresh()
            token = self._token
        assert token is not None
        self._sent.token = token
        return {"Authorization": f"Bearer {token.get_secret_value()}"}

    def invalidate(self) -> None:
        """Forget the token (after a 401), so the next request fetches a new one."""
        with self._lock:
            if self._token is getattr(self._sent, "token", self._token):
                self._token = None


def _enc(text: str) -> str:
    return urllib.parse.quote(text, safe="~")


class TbaSigner(httpx.Auth):
    """Signs every request with an OAuth 1.0a HMAC-SHA256 ``Authorization`` header."""

    def __init__(self, config: NetSuiteConfig) -> None:
        assert config.consumer_key is not None
        assert config.consumer_secret is not None
        assert config.token_id is not None
        assert config.token_secret is not None
        self._realm = config.account_id
        self._consumer_key = config.consumer_key
        self._token_id = config.token_id
        self._key = SecretStr(
            f"{_enc(config.consumer_secret.get_secret_value())}&"
            f"{_enc(config.token_secret.get_secret_value())}"
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the signed header; called by httpx for each request."""
        request.headers["Authorization"] = self.header(request.method, request.url)
        yield request

    def header(
        self,
        method: str,
        url: httpx.URL,
        *,
        nonce: str | None = None,
        timestamp: int | None = None,
    ) -> str:
        """The ``Authorization`` header value for one request."""
        oauth = {
            "oauth_consumer_key": self._consumer_key.get_secret_value(),
            "oauth_token": self._token_id.get_secret_value(),
            "oauth_signature_method": "HMAC-SHA256",
            "oauth_timestamp": str(timestamp if timestamp is not None else int(time.time())),
            "oauth_nonce": nonce or secrets.token_hex(16),
            "oauth_version": "1.0",
        }
        base = signature_base_string(method, url, oauth)
        digest = hmac.new(self._key.get_secret_value().encode(), base.encode(), hashlib.sha256)
        oauth["oauth_signature"] = base64.b64encode(digest.digest()).decode()
        params = ",".join(f'{k}="{_enc(v)}"' for k, v in oauth.items())
        return f'OAuth realm="{self._realm}",{params}'


def signature_base_string(method: str, url: httpx.URL, oauth: dict[str, str]) -> str:
    """The RFC 5849 §3.4.1 base string of a request (no body: NetSuite REST bodies are JSON)."""
    authority = url.host.lower()
    if url.port is not None:
        authority = f"{authority}:{url.port}"
    path = url.raw_path.split(b"?", 1)[0].decode()
    pairs = urllib.parse.parse_qsl(url.query.decode(), keep_blank_values=True)
    pairs += list(oauth.items())
    normal = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in pairs))
    uri = f"{url.scheme.lower()}://{authority}{path}"
    return "&".join((method.upper(), _enc(uri), _enc(normal)))
