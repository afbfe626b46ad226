"""Who may call the emulated account, and how many requests may run at once.

``AccountAccess`` is a mixin of ``NetSuiteState``: registered M2M certificates and TBA
credentials, issued access tokens, used TBA nonces and the concurrency counter.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

NONCE_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class TbaToken:
    """A TBA access token: who it was issued to and its secret."""

    consumer_key: str
    secret: str


class AccountAccess:
    """Credentials, tokens, nonces and the concurrency counter, under ``self.lock``."""

    def __init__(self, *, concurrency_limit: int = 5) -> None:
        self.lock = threading.Lock()
        self.concurrency_limit = concurrency_limit
        self.concurrency_error_code = "SSS_REQUEST_LIMIT_EXCEEDED"
        self.processing_delay = 0.0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.rejected_over_limit = 0
        self.token_ttl_seconds = 3600
        self.tokens_issued = 0
        self.clients: dict[str, dict[str, str]] = {}
        self.consumers: dict[str, str] = {}
        self.tba_tokens: dict[str, TbaToken] = {}
        self._access_tokens: dict[str, float] = {}
        self._nonces: dict[tuple[str, str, str], float] = {}

    def register_client(self, client_id: str, certificate_id: str, public_key_pem: str) -> None:
        """Register an OAuth 2.0 M2M integration's certificate (public key, PEM)."""
        with self.lock:
            self.clients.setdefault(client_id, {})[certificate_id] = public_key_pem

    def register_tba(
        self, consumer_key: str, consumer_secret: str, token_id: str, token_secret: str
    ) -> None:
        """Register a TBA integration (consumer) and an access token issued to it."""
        with self.lock:
            self.consumers[consumer_key] = consumer_secret
            self.tba_tokens[token_id] = TbaToken(consumer_key, token_secret)

    def issue_token(self, token: str) -> None:
        """Remember an OAuth 2.0 access token until it expires."""
        with self.lock:
            self._access_tokens[token] = time.time() + self.token_ttl_seconds
            self.tokens_issued += 1

    def token_valid(self, token: str) -> bool:
        """Whether ``token`` was issued here and has not expired."""
        with self.lock:
            expires = self._access_tokens.get(token)
            return expires is not None and expires > time.time()

    def expire_tokens(self) -> None:
        """Expire every OAuth 2.0 access token now."""
        with self.lock:
            self._access_tokens = dict.fromkeys(self._access_tokens, 0.0)

    def use_nonce(self, consumer_key: str, token_id: str, nonce: str) -> bool:
        """Record a TBA nonce; False when it was already used within the window."""
        now = time.time()
        with self.lock:
            self._nonces = {k: t for k, t in self._nonces.items() if t > now - NONCE_WINDOW_SECONDS}
            key = (consumer_key, token_id, nonce)
            if key in self._nonces:
                return False
            self._nonces[key] = now
            return True

    def enter(self) -> bool:
        """Count a request in; False (and counted as rejected) when the account is at its limit."""
        with self.lock:
            if self.in_flight >= self.concurrency_limit:
                self.rejected_over_limit += 1
                return False
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return True

    def leave(self) -> None:
        """Count a request out."""
        with self.lock:
            self.in_flight -= 1
