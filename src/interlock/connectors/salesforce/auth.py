"""Session tokens from the OAuth 2.0 client-credentials flow, cached until refused.

Salesforce sends no ``expires_in`` (sessions end after inactivity), so the token is kept until
a request comes back 401; ``VendorHttp`` then calls ``refresh`` once and repeats the request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from interlock.connectors.http import VendorHttp, expect
from interlock.connectors.salesforce.config import SalesforceConfig
from interlock.exceptions import AuthenticationFailed, RecordNotFound, RecordRejected

TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a URL path, not a secret


@dataclass(frozen=True)
class Session:
    """A live session: the token (never shown in reprs) and the instance to call."""

    access_token: str = field(repr=False)
    instance_url: str


class ClientCredentials:
    """Obtains and caches the session; thread-safe.

    Args:
        http: The connector's HTTP client; the token endpoint is relative to its base URL
            (the org's My Domain).
        config: Supplies client id and secret.
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

    def _fetch(self) -> Session:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._config.client_id,
            "client_secret": self._config.client_secret.get_secret_value(),
        }
        system = self._http.system
        try:
            response = self._http.request("POST", TOKEN_PATH, data=form, auth=False)
        except (RecordRejected, RecordNotFound) as exc:
            # 400 invalid_client / unsupported_grant_type, or no token endpoint at base_url
            raise AuthenticationFailed(
                system,
                f"client-credentials token refused (HTTP {exc.status}, {exc.code or 'no code'});"
                " check client_id, client_secret and that base_url is the org's My Domain",
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
