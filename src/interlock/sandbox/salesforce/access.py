"""Who may call the org: connected apps (client credentials, JWT bearer) and live sessions."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping

from interlock.sandbox.salesforce import ids
from interlock.sandbox.salesforce.assertions import JwtApp, load_public_key


class Access:
    """Connected apps, their pre-authorised users, and session tokens; thread-safe.

    Args:
        org_id: The org's id (session tokens start with its first 15 characters).
        run_as: User id of the client-credentials flow's "run as" user.
        clients: Client-credentials apps, client id → secret.
    """

    def __init__(self, org_id: str, run_as: str, clients: Mapping[str, str]) -> None:
        self.org_id = org_id
        self.run_as = run_as
        self.clients = dict(clients)
        self.jwt_apps: dict[str, JwtApp] = {}
        self.usernames: dict[str, str] = {}
        self._lock = threading.Lock()
        self._sessions: dict[str, str] = {}

    def client_allowed(self, client_id: str, client_secret: str) -> bool:
        """Whether a client-credentials app with these credentials exists."""
        expected = self.clients.get(client_id)
        return expected is not None and secrets.compare_digest(expected, client_secret)

    def register_jwt_app(
        self, consumer_key: str, public_pem: str | bytes, users: Iterable[str]
    ) -> dict[str, str]:
        """Allow the JWT bearer flow for an app; returns username → user id of ``users``."""
        with self._lock:
            approved = {name: self._user(name) for name in users}
            self.jwt_apps[consumer_key] = JwtApp(
                consumer_key, load_public_key(public_pem), approved
            )
            return dict(approved)

    def issue_token(self, user_id: str | None = None) -> str:
        """A new session token acting as ``user_id`` (default: the run-as user)."""
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(48)}"
        with self._lock:
            self._sessions[token] = user_id or self.run_as
        return token

    def session_user(self, token: str) -> str | None:
        """The user a live session acts as, or None when the token is not a live session."""
        with self._lock:
            return self._sessions.get(token)

    def expire_tokens(self) -> None:
        """End every session (as a session timeout or an admin revoking would)."""
        with self._lock:
            self._sessions.clear()

    def _user(self, username: str) -> str:
        if username not in self.usernames:
            self.usernames[username] = ids.make_id("005", "Dn", len(self.usernames) + 2)
        return self.usernames[username]
