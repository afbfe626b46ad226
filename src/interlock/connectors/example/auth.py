"""Example CRM authentication: a long-lived API key sent as a bearer token."""

from __future__ import annotations

from pydantic import SecretStr


class ApiKey:
    """The integration user's API key, sent as ``Authorization: Bearer <key>``.

    Keys do not expire, so there is nothing to refresh: a 401 means someone revoked the key,
    and the connector raises AuthenticationFailed for an administrator to act on.
    """

    def __init__(self, key: SecretStr) -> None:
        self._key = key

    def headers(self) -> dict[str, str]:
        """Headers that authenticate one request."""
        return {"Authorization": f"Bearer {self._key.get_secret_value()}"}

    def __repr__(self) -> str:
        return "ApiKey('**********')"
