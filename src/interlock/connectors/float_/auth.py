"""Float authentication: a static bearer token plus the identifying User-Agent."""

from __future__ import annotations

from pydantic import SecretStr


class FloatCredentials:
    """The account's API token, sent as ``Authorization: Bearer`` with the User-Agent.

    Float tokens do not expire and cannot be refreshed: a 401 means the account owner
    regenerated the token and the configuration needs the new one.
    """

    def __init__(self, token: SecretStr, user_agent: str) -> None:
        self._token = token
        self.user_agent = user_agent

    def headers(self) -> dict[str, str]:
        """Headers that authenticate and identify one request."""
        return {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "User-Agent": self.user_agent,
        }

    def __repr__(self) -> str:
        return f"FloatCredentials('**********', user_agent={self.user_agent!r})"
