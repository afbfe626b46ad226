"""Authentication of the emulated account, both ways NetSuite REST accepts.

* OAuth 2.0 client credentials (M2M): the client posts a JWT assertion signed with the
  private key of a certificate it registered; we verify it with the registered public key
  (PS256/384/512, ES256/384/512, and RS256) and issue a bearer token that expires.
* Token-based authentication (OAuth 1.0a, HMAC-SHA256): we rebuild the RFC 5849 signature
  base string (method, URL, sorted query and ``oauth_*`` parameters; no JSON body) and check
  the signature with the consumer and token secrets. A nonce is accepted once.

This module is written separately from the connector's signing code on purpose: a mistake
on one side should fail the tests, not cancel out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
import urllib.parse
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.requests import Request
from starlette.responses import JSONResponse

from interlock.sandbox.netsuite.errors import INVALID_LOGIN_DETAIL, NsError
from interlock.sandbox.netsuite.state import NetSuiteState

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 - a path, not a secret
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_SECONDS = 3600
FORM_TYPE = "application/x-www-form-urlencoded"
CLOCK_SKEW_SECONDS = 300
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
ALGORITHMS = frozenset({"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "RS256"})


class OAuthError(Exception):
    """A refused token request, answered as ``{"error", "error_description"}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description}, self.status
        )


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _verify(alg: str, public_pem: str, signed: bytes, signature: bytes) -> bool:
    digest = _HASHES[alg[2:]]()
    key = serialization.load_pem_public_key(public_pem.encode())
    try:
        if alg.startswith("ES") and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(signature) // 2
            der = encode_dss_signature(
                int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
            )
            key.verify(der, signed, ec.ECDSA(digest))
        elif alg.startswith("PS") and isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=padding.PSS.DIGEST_LENGTH)
            key.verify(signature, signed, pss, digest)
        elif alg.startswith("RS") and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), digest)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _decode_jwt(assertion: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    parts = assertion.split(".")
    try:
        if len(parts) != 3:
            raise ValueError
        header, claims = orjson.loads(_unb64(parts[0])), orjson.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise OAuthError(401, "invalid_client", "The client assertion is not a JWT.") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise OAuthError(401, "invalid_client", "The client assertion is not a JWT.")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), signature


def check_assertion(state: NetSuiteState, assertion: str, token_url: str) -> str:
    """Verify a client assertion; return the client id. Raises OAuthError."""
    header, claims, signed, signature = _decode_jwt(assertion)
    alg, kid, client_id = header.get("alg"), header.get("kid"), claims.get("iss")
    if alg not in ALGORITHMS:
        raise OAuthError(401, "invalid_client", f"Signing algorithm {alg!r} is not accepted.")
    with state.lock:
        public_pem = state.clients.get(str(client_id), {}).get(str(kid))
    if public_pem is None:
        raise OAuthError(401, "invalid_client", "Unknown client id or certificate id (kid).")
    if not _verify(str(alg), public_pem, signed, signature):
        raise OAuthError(401, "invalid_client", "The client assertion signature is invalid.")
    _check_claims(claims, token_url)
    return str(client_id)


def _check_claims(claims: dict[str, Any], token_url: str) -> None:
    audience = claims.get("aud")
    if token_url not in (audience if isinstance(audience, list) else [audience]):
        raise OAuthError(400, "invalid_grant", f"aud must be {token_url}.")
    iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise OAuthError(400, "invalid_grant", "iat and exp are required numbers.")
    if exp <= now or iat > now + CLOCK_SKEW_SECONDS:
        raise OAuthError(400, "invalid_grant", "The client assertion is expired or not valid yet.")
    if exp - iat > MAX_ASSERTION_SECONDS:
        raise OAuthError(400, "invalid_grant", "exp may be at most 60 minutes after iat.")
    scope = claims.get("scope", "")
    scopes = scope if isinstance(scope, list) else str(scope).replace(" ", ",").split(",")
    if "rest_webservices" not in scopes:
        raise OAuthError(400, "invalid_scope", "scope must include rest_webservices.")


def token_form_assertion(content_type: str, body: bytes) -> str:
    """The client assertion of a token request's form. Raises OAuthError."""
    # Parsed by hand: Starlette's form parser needs python-multipart.
    if not content_type.startswith(FORM_TYPE):
        raise OAuthError(400, "invalid_request", f"Content-Type must be {FORM_TYPE}.")
    form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
    if form.get("grant_type") != "client_credentials":
        raise OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials.")
    assertion = form.get("client_assertion")
    if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
        raise OAuthError(
            400,
            "invalid_request",
            f"client_assertion_type must be {ASSERTION_TYPE} with a client_assertion.",
        )
    return assertion


def issue_token(state: NetSuiteState, client_id: str, key: bytes) -> str:
    """A new access token (a JWT signed by the account) for ``client_id``."""
    now = int(time.time())
    header = _b64(orjson.dumps({"kid": "sandbox-access-token-key", "typ": "JWT", "alg": "HS256"}))
    body = _b64(
        orjson.dumps(
            {
                "sub": client_id,
                "iat": now,
                "exp": now + state.token_ttl_seconds,
                "jti": secrets.token_hex(8),
            }
        )
    )
    signature = _b64(hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest())
    token = f"{header}.{body}.{signature}"
    state.issue_token(token)
    return token


def _enc(text: str) -> str:
    return urllib.parse.quote(text, safe="~")


def parse_oauth_header(value: str) -> dict[str, str]:
    """The parameters of an ``Authorization: OAuth ...`` header, percent-decoded."""
    params: dict[str, str] = {}
    for part in value[len("OAuth ") :].split(","):
        name, sep, quoted = part.strip().partition("=")
        if not sep or len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
            raise _login_error()
        params[name] = urllib.parse.unquote(quoted[1:-1])
    return params


def base_string(
    method: str, scheme: str, authority: str, raw_path: str, query: str, oauth: dict[str, str]
) -> str:
    """The RFC 5849 signature base string."""
    host, _, port = authority.lower().partition(":")
    if (scheme, port) in (("http", "80"), ("https", "443")) or not port:
        authority = host
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    pairs += [(k, v) for k, v in oauth.items() if k not in ("realm", "oauth_signature")]
    normal = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in pairs))
    uri = f"{scheme.lower()}://{authority}{raw_path}"
    return "&".join((method.upper(), _enc(uri), _enc(normal)))


def _login_error() -> NsError:
    return NsError(401, INVALID_LOGIN_DETAIL, "INVALID_LOGIN")


def check_tba(state: NetSuiteState, request: Request, header: str) -> None:
    """Verify a TBA ``Authorization`` header. Raises NsError 401 INVALID_LOGIN."""
    oauth = parse_oauth_header(header)
    if (
        oauth.get("realm") != state.account_id
        or oauth.get("oauth_signature_method") != "HMAC-SHA256"
        or oauth.get("oauth_version", "1.0") != "1.0"
    ):
        raise _login_error()
    with state.lock:
        token = state.tba_tokens.get(oauth.get("oauth_token", ""))
        consumer_secret = state.consumers.get(oauth.get("oauth_consumer_key", ""))
    if (
        token is None
        or consumer_secret is None
        or token.consumer_key != oauth.get("oauth_consumer_key")
    ):
        raise _login_error()
    try:
        stamp = int(oauth.get("oauth_timestamp", ""))
    except ValueError:
        raise _login_error() from None
    if abs(time.time() - stamp) > CLOCK_SKEW_SECONDS or not oauth.get("oauth_nonce"):
        raise _login_error()
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    text = base_string(
        request.method,
        request.url.scheme,
        request.url.netloc,
        raw_path.decode(),
        request.scope.get("query_string", b"").decode(),
        oauth,
    )
    key = f"{_enc(consumer_secret)}&{_enc(token.secret)}".encode()
    expected = base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, oauth.get("oauth_signature", "")):
        raise _login_error()
    if not state.use_nonce(token.consumer_key, oauth["oauth_token"], oauth["oauth_nonce"]):
        raise _login_error()


def authenticate(state: NetSuiteState, request: Request) -> None:
    """Accept a valid bearer token or TBA signature; raise NsError 401 otherwise."""
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        if not state.token_valid(header[len("Bearer ") :]):
            raise _login_error()
    elif header.startswith("OAuth "):
        check_tba(state, request, header)
    else:
        raise _login_error()
