"""The webhook connector against a real HTTP server: what it sends, how it reads the answers."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import gc
import hashlib
import hmac
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from interlock.connectors.webhook import WebhookConfig, WebhookConnector
from interlock.connectors.webhook.connector import sign
from interlock.events import CloudEvent
from interlock.exceptions import (
    AuthenticationFailed,
    ConnectorError,
    ConnectorUnavailable,
    OutcomeUnknown,
    RateLimited,
    RecordRejected,
)
from interlock.serving import ThreadedServer, free_port

SECRET = "whsec-0123456789-do-not-print"


class Subscriber:
    """A webhook endpoint that records what arrives and answers as each route says."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.in_flight = 0
        self.peak = 0

    def app(self) -> Starlette:
        """The ASGI app: /accept, /answer/{status}, /slow, /moved → /landing."""
        return Starlette(
            routes=[
                Route("/accept", self.accept, methods=["POST"]),
                Route("/answer/{status:int}", self.answer, methods=["POST"]),
                Route("/slow", self.slow, methods=["POST"]),
                Route("/moved", self.moved, methods=["POST"]),
                Route("/landing", self.landing, methods=["GET"]),
            ]
        )

    async def _record(self, request: Request) -> bytes:
        body = await request.body()
        with self.lock:
            self.received.append((dict(request.headers), body))
        return body

    async def accept(self, request: Request) -> Response:
        """Take the event; hold it a moment so that concurrent deliveries overlap."""
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            await self._record(request)
            await asyncio.sleep(0.05)
        finally:
            with self.lock:
                self.in_flight -= 1
        return JSONResponse({"accepted": True})

    async def answer(self, request: Request) -> Response:
        """Answer with the status in the path, echoing everything we were sent in the body."""
        body = await self._record(request)
        headers = {}
        if "retry_after" in request.query_params:
            headers["Retry-After"] = request.query_params["retry_after"]
        echo = f"headers={dict(request.headers)} body={body.decode()}"
        if "big" in request.query_params:
            echo = "x" * 10_000
        return PlainTextResponse(echo, request.path_params["status"], headers=headers)

    async def slow(self, request: Request) -> Response:
        """Never answer while the client still waits (bounded, so the server can stop)."""
        await self._record(request)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not await request.is_disconnected():
            await asyncio.sleep(0.02)
        return JSONResponse({"too": "late"})

    async def moved(self, request: Request) -> Response:
        """Redirect elsewhere (a client following it would turn the POST into a GET)."""
        await self._record(request)
        return RedirectResponse("/landing", 302)

    async def landing(self, request: Request) -> Response:
        """A page that answers 200 to anything: it takes no events."""
        return PlainTextResponse("welcome")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ThreadedServer, Subscriber]]:
    subscriber = Subscriber()
    with ThreadedServer(subscriber.app()) as running:
        yield running, subscriber


@pytest.fixture
def subscriber(server: tuple[ThreadedServer, Subscriber]) -> Subscriber:
    found = server[1]
    with found.lock:
        found.received.clear()
        found.peak = 0
    return found


@pytest.fixture
def base(server: tuple[ThreadedServer, Subscriber]) -> str:
    return server[0].base_url


def connector(url: str, **options: Any) -> WebhookConnector:
    return WebhookConnector("hook", WebhookConfig(base_url=url, **options))


@pytest.fixture
def hooks() -> Iterator[list[WebhookConnector]]:
    """Connectors made in a test, closed at its end."""
    made: list[WebhookConnector] = []
    yield made
    for one in made:
        one.close()


def event(n: int) -> CloudEvent:
    return CloudEvent(
        id=f"evt-{n:04d}",
        source="/systems/crm",
        type="interlock.customer.changed.v1",
        subject=f"customer_{n % 3}",
        time=dt.datetime(2027, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=n),
        data={"id": f"customer_{n % 3}", "name": f"Customer {n}"},
    )


def test_each_event_is_posted_as_a_cloudevent_with_its_id_as_idempotency_key(
    base: str, subscriber: Subscriber, hooks: list[WebhookConnector]
) -> None:
    hook = connector(f"{base}/accept", concurrency=4)
    hooks.append(hook)
    events = [event(n) for n in range(20)]

    outcomes = hook.deliver_many(events)

    assert outcomes == [{"delivered": e.id, "status": 200} for e in events]
    assert len(subscriber.received) == 20
    by_key = {headers["idempotency-key"]: (headers, body) for headers, body in subscriber.received}
    assert set(by_key) == {e.id for e in events}
    for sent in events:
        headers, body = by_key[sent.id]
        assert headers["content-type"] == "application/cloudevents+json"
        assert "interlock-signature" not in headers  # no secret configured: not signed
        assert CloudEvent.model_validate(orjson.loads(body)) == sent
    # Pipelined, within the configured bound.
    assert 1 < subscriber.peak <= 4
    assert hook.deliver(events[0]) == {"delivered": events[0].id, "status": 200}
    assert hook.deliver_many([]) == []


def test_a_signature_verifies_with_the_shared_secret_over_the_exact_body(
    base: str, subscriber: Subscriber, hooks: list[WebhookConnector]
) -> None:
    hook = connector(f"{base}/accept", secret=SecretStr(SECRET))
    hooks.append(hook)
    before = int(time.time())
    hook.deliver_many([event(1), event(2)])
    after = int(time.time())

    assert len(subscriber.received) == 2
    for headers, body in subscriber.received:
        header = headers["interlock-signature"]
        parts = dict(part.split("=", 1) for part in header.split(","))
        moment = int(parts["t"])
        assert before <= moment <= after
        expected = hmac.new(SECRET.encode(), f"{moment}.".encode() + body, hashlib.sha256)
        assert hmac.compare_digest(parts["v1"], expected.hexdigest())
        assert sign(SECRET, body, at=moment) == header
        assert sign("another secret", body, at=moment) != header
        assert SECRET not in header
        assert SECRET.encode() not in body


REFUSALS: list[tuple[int, str, type[ConnectorError], float | None]] = [
    (429, "", RateLimited, None),
    (429, "?retry_after=7", RateLimited, 7.0),
    (503, "?retry_after=2", RateLimited, 2.0),
    (503, "?retry_after=0", RateLimited, 0.0),
    (503, "", ConnectorUnavailable, None),
    (500, "", ConnectorUnavailable, None),
    (502, "", ConnectorUnavailable, None),
    (408, "", ConnectorUnavailable, None),
    (401, "", AuthenticationFailed, None),
    (403, "", AuthenticationFailed, None),
    (400, "", RecordRejected, None),
    (404, "", RecordRejected, None),
    (422, "", RecordRejected, None),
]


@pytest.mark.parametrize(("status", "query", "kind", "retry_after"), REFUSALS)
def test_each_refusal_becomes_its_error_type_with_the_status_and_no_secret(
    base: str,
    hooks: list[WebhookConnector],
    status: int,
    query: str,
    kind: type[ConnectorError],
    retry_after: float | None,
) -> None:
    hook = connector(f"{base}/answer/{status}{query}", secret=SecretStr(SECRET))
    hooks.append(hook)

    [outcome] = hook.deliver_many([event(1)])
    with pytest.raises(ConnectorError) as raised:
        hook.deliver(event(1))

    for error in (outcome, raised.value):
        assert type(error) is kind
        assert error.system == "hook"
        assert error.status == status
        assert f"HTTP {status}" in str(error)
        assert "evt-0001" in str(error)  # the subscriber's answer (an echo here) is kept
        assert SECRET not in str(error)
        assert SECRET not in repr(error)
        if isinstance(error, RateLimited):
            assert error.retry_after == retry_after


@pytest.mark.parametrize("status", [200, 201, 202, 204, 409])
def test_2xx_and_409_mean_the_subscriber_has_the_event(
    base: str, hooks: list[WebhookConnector], status: int
) -> None:
    hook = connector(f"{base}/answer/{status}")
    hooks.append(hook)

    assert hook.deliver(event(1)) == {"delivered": "evt-0001", "status": status}


def test_retry_after_as_an_http_date_is_read_as_seconds_from_now(
    base: str, hooks: list[WebhookConnector]
) -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True).replace(" ", "%20")
    hook = connector(f"{base}/answer/503?retry_after={later}")
    hooks.append(hook)

    with pytest.raises(RateLimited) as raised:
        hook.deliver(event(1))

    assert raised.value.retry_after is not None
    assert 25 <= raised.value.retry_after <= 31


def test_a_long_answer_is_cut_short_in_the_error(base: str, hooks: list[WebhookConnector]) -> None:
    hook = connector(f"{base}/answer/422?big=1")
    hooks.append(hook)

    with pytest.raises(RecordRejected) as raised:
        hook.deliver(event(1))

    assert "x" * 300 in str(raised.value)
    assert len(str(raised.value)) < 500


def test_a_redirect_is_not_followed_and_not_taken_for_delivery(
    base: str, subscriber: Subscriber, hooks: list[WebhookConnector]
) -> None:
    hook = connector(f"{base}/moved")
    hooks.append(hook)

    with pytest.raises(RecordRejected) as raised:
        hook.deliver(event(1))

    assert raised.value.status == 302
    assert [h.get("idempotency-key") for h, _ in subscriber.received] == ["evt-0001"]


def test_no_answer_in_time_is_an_unknown_outcome(
    base: str, subscriber: Subscriber, hooks: list[WebhookConnector]
) -> None:
    hook = connector(f"{base}/slow", timeout_seconds=0.3)
    hooks.append(hook)

    with pytest.raises(OutcomeUnknown) as raised:
        hook.deliver(event(1))

    assert "0.3 s" in str(raised.value)
    assert raised.value.retryable
    assert len(subscriber.received) == 1  # it was sent: that is why the outcome is unknown


def _drop_after_reading(listener: socket.socket, got: threading.Event) -> None:
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(5)
        data = b""
        while b"evt-0001" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        got.set()
    # closed without a word: the request was read, the answer never comes


def test_a_connection_dropped_after_sending_is_an_unknown_outcome(
    hooks: list[WebhookConnector],
) -> None:
    got = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        thread = threading.Thread(target=_drop_after_reading, args=(listener, got), daemon=True)
        thread.start()
        hook = connector(f"http://127.0.0.1:{port}/hook")
        hooks.append(hook)
        with pytest.raises(OutcomeUnknown) as raised:
            hook.deliver(event(1))
        thread.join(timeout=5)

    assert got.is_set()
    assert "after sending" in str(raised.value)


def test_a_refused_connection_is_unavailable_not_unknown(hooks: list[WebhookConnector]) -> None:
    hook = connector(f"http://127.0.0.1:{free_port()}/hook", secret=SecretStr(SECRET))
    hooks.append(hook)

    outcomes = hook.deliver_many([event(1), event(2)])

    for outcome in outcomes:
        assert type(outcome) is ConnectorUnavailable
        assert outcome.retryable
        assert SECRET not in str(outcome)


def test_close_stops_the_loop_and_leaves_nothing_unclosed(base: str) -> None:
    hook = connector(f"{base}/accept")
    hook.close()  # never used: nothing to close
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert hook.deliver(event(1))["status"] == 200
        assert any(t.name == "webhook-hook" for t in threading.enumerate())
        hook.close()
        # Usable again after close (a new loop and session), and closed again.
        assert hook.deliver(event(2))["status"] == 200
        hook.close()
        hook.close()
        del hook
        gc.collect()
    assert not any(t.name == "webhook-hook" for t in threading.enumerate())
    assert [str(w.message) for w in caught] == []


def test_bad_configuration_names_the_field_and_never_echoes_the_secret() -> None:
    with pytest.raises(ValidationError) as raised:
        WebhookConfig.model_validate(
            {"base_url": "ftp://hooks.example.com", "concurrency": 0, "secret": 5}
        )
    fields = {str(error["loc"][0]) for error in raised.value.errors()}
    assert fields == {"base_url", "concurrency", "secret"}
    with pytest.raises(ValidationError) as raised:
        WebhookConfig.model_validate({"base_url": "http://x", "secret": SECRET, "other": SECRET})
    assert SECRET not in str(raised.value)
    assert WebhookConfig.model_validate({"url": "http://x"}).base_url == "http://x"
