"""Session tokens from the OAuth 2.0 client-credentials or JWT bearer flow, cached until refused.

Salesforce sends no ``expires_in`` (sessions end after inactivity) and no refresh token for
either flow, so the token is kept until a request comes back 401; ``VendorHttp`` then calls
``refresh`` once and repeats the request. A JWT bearer refresh signs a fresh assertion.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from interlock.connectors.http import VendorHttp, expect
from interlock.connectors.salesforce.config import SalesforceConfig
from interlock.connectors.salesforce.jwt_bearer import (
    GRANT_TYPE,
    load_private_key,
    signed_assertion,
)
from interlock.exceptions import AuthenticationFailed, RecordNotFound, RecordRejected

TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a URL path, not a secret
_HINTS = {
    "client_credentials": "check client_id, client_secret and that base_url is the org's My Domain",
    "jwt_bearer": "check client_id, that the connected app holds the certificate of "
    "private_key_pem, that username is pre-authorised, and jwt_audience",
}


@dataclass(frozen=True)
class Session:
    """A live session: the token (never shown in reprs) and the instance to call."""

    access_token: str = field(repr=False)
    instance_url: str


class OAuthSession:
    """Obtains and caches the session with the configured flow; thread-safe.

    Args:
        http: The connector's HTTP client; the token endpoint is relative to its base URL.
        config: Supplies the flow and its credentials.
    """

    def __init__(self, http: VendorHttp, config: SalesforceConfig) -> None:
        self._http = http
        self._config = config
        self._lock = threading.Lock()
        self._session: Session | None = None

    def session(self) -> Session:
        """The cached session, fetched on first use."""
        with self._lock:
            if self._session is None:
                self._session = self._fetch()
            return self._session

    def refresh(self) -> None:
        """Drop the cached session and fetch a new one now."""
        with self._lock:
            self._session = None
            self._session = self._fetch()

    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header for REST calls."""
        return {"Authorization": f"Bearer {self.session().access_token}"}

    def _form(self) -> dict[str, str]:
        config = self._config
        if config.auth_flow == "jwt_bearer":
            assert config.private_key_pem is not None  # the config validator checked both
            assert config.username is not None
            assertion = signed_assertion(
                load_private_key(config.private_key_pem),
                consumer_key=config.client_id,
                username=config.username,
                audience=config.jwt_audience,
            )
            return {"grant_type": GRANT_TYPE, "assertion": assertion}
        assert config.client_secret is not None  # the config validator checked it
        return {
            "grant_type": "client_credentials",
            "client_id": config.client_id,
            "client_secret": config.client_secret.get_secret_value(),
        }

    def _fetch(self) -> Session:
        flow, system = self._config.auth_flow, self._http.system
        try:
            response = self._http.request("POST", TOKEN_PATH, data=self._form(), auth=False)
        except (RecordRejected, RecordNotFound) as exc:
            # 400 invalid_client / invalid_grant / unsupported_grant_type, or no endpoint
            raise AuthenticationFailed(
                system,
                f"{flow} token refused (HTTP {exc.status}, {exc.code or 'no code'}: "
                f"{_reason(exc)}); {_HINTS[flow]}",
                status=exc.status,
                code=exc.code,
            ) from None
        body = self._http.json(response)
        expect(system, isinstance(body, dict), "token response is not a JSON object")
        token, instance = body.get("access_token"), body.get("instance_url")
        expect(system, isinstance(token, str) and bool(token), "token response lacks access_token")
        expect(
            system,
            isinstance(instance, str) and instance.startswith("http"),
            "token response lacks instance_url",
        )
        return Session(access_token=str(token), instance_url=str(instance).rstrip("/"))


def _reason(exc: RecordRejected | RecordNotFound) -> str:
    # the token endpoint's error_description ("audience is invalid"); it never holds secrets
    return exc.message.split(": ", 2)[-1]
