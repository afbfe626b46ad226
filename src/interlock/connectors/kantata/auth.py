"""Kantata authentication: a bearer token configured once (the OAuth flow is interactive)."""

from __future__ import annotations

from pydantic import SecretStr


class BearerToken:
    """The integration user's OAuth 2.0 access token, sent as ``Authorization: Bearer``.

    Kantata's authorization-code flow needs a person in a browser, so the connector cannot
    refresh the token: a 401 means an administrator has to issue a new one.
    """

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def headers(self) -> dict[str, str]:
        """Headers that authenticate one request."""
        return {"Authorization": f"Bearer {self._token.get_secret_value()}"}

    def __repr__(self) -> str:
        return "BearerToken('**********')"
