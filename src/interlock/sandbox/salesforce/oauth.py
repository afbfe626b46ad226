"""``POST /services/oauth2/token``: the OAuth 2.0 client-credentials flow.

Client id and secret come in the form or as HTTP Basic credentials. The answer has no
``refresh_token`` and no ``expires_in``; ``signature`` is the Base64 HMAC-SHA256 of
``id + issued_at`` keyed with the client secret. Token requests do not count as API calls.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from interlock.sandbox.salesforce.results import json_response
from interlock.sandbox.salesforce.state import SalesforceState


async def token(request: Request) -> Response:
    """``POST /services/oauth2/token``: the client-credentials flow."""
    state: SalesforceState = request.app.state.sandbox
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    if form.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", "grant type not supported")
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    scheme, _, basic = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(basic).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return _oauth_error("invalid_client", "invalid client credentials")
    if not state.client_allowed(client_id, secret):
        return _oauth_error("invalid_client", "invalid client credentials")
    base = str(request.base_url).rstrip("/")
    identity = f"{base}/id/{state.org_id}/{state.user_id}"
    issued_at = str(int(time.time() * 1000))
    digest = hmac.new(secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
    return json_response(
        {
            "access_token": state.issue_token(client_id),
            "instance_url": base,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(digest.digest()).decode(),
            "scope": "api",
        },
        headers={"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private"},
    )


def _oauth_error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400)
