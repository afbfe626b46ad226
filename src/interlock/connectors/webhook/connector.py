"""The webhook connector: delivers canonical CloudEvents to an HTTP endpoint.

Each event is one POST of the structured-mode CloudEvent (``application/cloudevents+json``)
with ``Idempotency-Key: <event id>``, so a subscriber can drop a repeat: a delivery whose
answer was lost (timeout, reset connection) is sent again, never looked up. With a secret, each
request is signed: ``Interlock-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``.
Only a 2xx (or 409, "have it already") answer is a delivery; a redirect is not followed (the
client would repeat the POST as a GET) and refuses the event, so the address can be fixed.

Deliveries run on an asyncio loop owned by the connector (one background thread, one pooled
aiohttp session), so a batch of events is ``concurrency`` POSTs in flight at once while the
calling worker thread waits for the batch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import hashlib
import hmac
import threading
import time
from collections.abc import Coroutine, Sequence
from typing import Any, ClassVar, TypeVar

import aiohttp
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from interlock.connectors.base import Connector
from interlock.events import CloudEvent
from interlock.exceptions import (
    AuthenticationFailed,
    ConnectorError,
    ConnectorUnavailable,
    OutcomeUnknown,
    RateLimited,
    RecordRejected,
)

T = TypeVar("T")
_ERROR_TEXT = 300  # characters of a refusal's body kept in the error


class WebhookConfig(BaseModel):
    """Deliver canonical events to a subscriber's HTTPS endpoint.

    The subscriber answers 2xx when it has the event (409 is taken as "already have it"),
    429 or 503 with ``Retry-After`` to slow us down, 5xx for a passing failure (retried) and
    other 4xx to refuse the event (it goes to the exception queue with the answer).
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    base_url: str = Field(
        description="Endpoint the events are POSTed to.",
        examples=["https://hooks.example.com/interlock"],
        pattern=r"^https?://[^\s/]+",
    )
    concurrency: int = Field(
        64, ge=1, le=1024, description="Deliveries in flight at once from one worker."
    )
    timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Longest wait for one delivery's answer."
    )
    secret: SecretStr | None = Field(
        None,
        description="Shared secret for the Interlock-Signature header; give it through an "
        "environment variable named in the topology file. Empty: requests are not signed.",
    )

    @model_validator(mode="before")
    @classmethod
    def _url_alias(cls, values: Any) -> Any:
        # ``url`` reads better in code; the topology's key is ``base_url``, like every system.
        if isinstance(values, dict) and "url" in values:
            values = dict(values)
            url = values.pop("url")
            values.setdefault("base_url", url)
        return values


class WebhookConnector(Connector):
    """POSTs canonical events to one endpoint; ``deliver_many`` pipelines a batch."""

    type: ClassVar[str] = "webhook"
    kinds: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, system: str, config: WebhookConfig) -> None:
        super().__init__(system)
        self.config = config
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: aiohttp.ClientSession | None = None
        self._gate: asyncio.Semaphore | None = None

    def deliver(self, event: CloudEvent) -> dict[str, Any]:
        """Deliver one event; raises the classified error when it is not accepted."""
        outcome = self.deliver_many([event])[0]
        if isinstance(outcome, ConnectorError):
            raise outcome
        return outcome

    def deliver_many(self, events: Sequence[CloudEvent]) -> list[dict[str, Any] | ConnectorError]:
        """Deliver events concurrently; one outcome per event, in order (never raises)."""
        if not events:
            return []
        return self._run(self._deliver_all(events))

    def close(self) -> None:
        """Close the session and stop the delivery loop."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close_session(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()

    # --- the loop ---------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name=f"webhook-{self.system}", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    async def _close_session(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _deliver_all(
        self, events: Sequence[CloudEvent]
    ) -> list[dict[str, Any] | ConnectorError]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.config.concurrency),
                timeout=aiohttp.ClientTimeout(total=self.config.timeout_seconds),
                headers={"User-Agent": "Interlock webhook"},
            )
            self._gate = asyncio.Semaphore(self.config.concurrency)
        return list(await asyncio.gather(*(self._deliver(event) for event in events)))

    async def _deliver(self, event: CloudEvent) -> dict[str, Any] | ConnectorError:
        assert self._session is not None
        assert self._gate is not None
        body = orjson.dumps(event.to_json())
        headers = {
            "Content-Type": "application/cloudevents+json",
            "Idempotency-Key": event.id,
        }
        if self.config.secret is not None:
            headers["Interlock-Signature"] = sign(self.config.secret.get_secret_value(), body)
        async with self._gate:
            try:
                # A redirect is not followed: the client would repeat a 301/302 as a GET, and a
                # page answering that GET with 200 would pass for a delivery.
                async with self._session.post(
                    self.config.base_url, data=body, headers=headers, allow_redirects=False
                ) as response:
                    status = response.status
                    if 200 <= status < 300 or status == 409:
                        await response.read()
                        return {"delivered": event.id, "status": status}
                    text = (await response.text(errors="replace"))[:_ERROR_TEXT]
                    retry_after = _seconds(response.headers.get("Retry-After"))
            except aiohttp.ClientConnectorError:
                return ConnectorUnavailable(self.system, "endpoint refused the connection")
            except TimeoutError:
                return OutcomeUnknown(
                    self.system, f"no answer within {self.config.timeout_seconds} s"
                )
            except aiohttp.ClientError as exc:
                return OutcomeUnknown(
                    self.system, f"connection failed after sending: {type(exc).__name__}"
                )
        return self._refusal(status, text, retry_after)

    def _refusal(self, status: int, text: str, retry_after: float | None) -> ConnectorError:
        said = f"HTTP {status}: {text}" if text else f"HTTP {status}"
        if status == 429 or (status == 503 and retry_after is not None):
            return RateLimited(
                self.system,
                f"endpoint asked us to slow down ({said})",
                retry_after=retry_after,
                status=status,
            )
        if status in (401, 403):
            return AuthenticationFailed(
                self.system, f"endpoint refused our credentials ({said})", status=status
            )
        if status >= 500 or status == 408:
            return ConnectorUnavailable(self.system, f"endpoint failed ({said})", status=status)
        if status < 400:
            return RecordRejected(
                self.system,
                f"endpoint redirected the event, which is not followed ({said}); "
                "set base_url to the address that takes it",
                status=status,
            )
        return RecordRejected(self.system, f"endpoint refused the event ({said})", status=status)


def sign(secret: str, body: bytes, at: int | None = None) -> str:
    """The ``Interlock-Signature`` header value for ``body``."""
    moment = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date; None when unreadable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # an HTTP date is GMT; "-0000" parses without a zone
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())
