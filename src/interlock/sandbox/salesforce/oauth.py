"""``POST /services/oauth2/token``: the client-credentials and JWT bearer flows.

Client-credentials: client id and secret in the form or as HTTP Basic credentials; the answer
carries ``signature``, the Base64 HMAC-SHA256 of ``id + issued_at`` keyed with the client
secret. JWT bearer: ``assertion`` is an RS256 JWT checked against the certificate registered
for its ``iss`` (see ``assertions.py``); the session acts as the ``sub`` user. Neither answer
has ``refresh_token`` or ``expires_in``. Token requests do not count as API calls.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from interlock.sandbox.salesforce.assertions import LOGIN_AUDIENCES, AssertionRefused, verify
from interlock.sandbox.salesforce.results import json_response
from interlock.sandbox.salesforce.state import SalesforceState

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_NO_CACHE = {"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private"}


async def token(request: Request) -> Response:
    """``POST /services/oauth2/token``."""
    state: SalesforceState = request.app.state.sandbox
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    grant = form.get("grant_type")
    if grant == "client_credentials":
        return _client_credentials(request, state, form)
    if grant == JWT_BEARER:
        return _jwt_bearer(request, state, form)
    return _oauth_error("unsupported_grant_type", "grant type not supported")


def _client_credentials(request: Request, state: SalesforceState, form: dict[str, str]) -> Response:
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    scheme, _, basic = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(basic).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return _oauth_error("invalid_client", "invalid client credentials")
    if not state.access.client_allowed(client_id, secret):
        return _oauth_error("invalid_client", "invalid client credentials")
    body = _session(request, state, state.user_id)
    digest = hmac.new(secret.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256)
    body["signature"] = base64.b64encode(digest.digest()).decode()
    return json_response(body, headers=_NO_CACHE)


def _jwt_bearer(request: Request, state: SalesforceState, form: dict[str, str]) -> Response:
    assertion = form.get("assertion")
    if not assertion:
        return _oauth_error("invalid_request", "assertion required")
    audiences = LOGIN_AUDIENCES | {_base(request)}
    try:
        app, username = verify(assertion, state.access.jwt_apps, audiences)
    except AssertionRefused as exc:
        return _oauth_error(exc.error, exc.description)
    return json_response(_session(request, state, app.users[username]), headers=_NO_CACHE)


def _session(request: Request, state: SalesforceState, user_id: str) -> dict[str, Any]:
    base = _base(request)
    return {
        "access_token": state.access.issue_token(user_id),
        "instance_url": base,
        "id": f"{base}/id/{state.org_id}/{user_id}",
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
        "scope": "api",
    }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _oauth_error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400)
