"""Fault injection shared by every sandbox: errors by status, latency, malformed bodies, outages.

Faults are set on a ``Faults`` object (in process) or through the admin endpoint that
``FaultMiddleware`` mounts at ``/__admin/faults`` (GET shows, PUT replaces, DELETE clears).
Admin paths (``/__admin/...``) are never faulted.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ADMIN_PREFIX = "/__admin"


@dataclass
class FaultPlan:
    """What to inject. Rates are probabilities per request, 0.0 to 1.0.

    Attributes:
        error_rates: HTTP status → probability of answering it instead of the real response.
        malformed_rate: Probability of answering 200 with a body that is not JSON.
        latency_ms: Latency added to every request.
        outage_until: Monotonic time until which every request fails with 503.
        fail_next: Statuses to answer, in order, for the next requests (then normal again).
        seed: Seed of the random generator, for repeatable runs.
    """

    error_rates: dict[int, float] = field(default_factory=dict)
    malformed_rate: float = 0.0
    latency_ms: float = 0.0
    outage_until: float = 0.0
    fail_next: list[int] = field(default_factory=list)
    seed: int = 0


class Faults:
    """Thread-safe holder of the current fault plan."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.plan = FaultPlan()
        self._rng = random.Random(0)
        self.injected = 0

    def set(self, plan: FaultPlan) -> None:
        """Replace the plan."""
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)

    def clear(self) -> None:
        """Back to no faults."""
        self.set(FaultPlan())

    def outage(self, seconds: float) -> None:
        """Answer 503 to everything for ``seconds``."""
        with self._lock:
            self.plan.outage_until = time.monotonic() + seconds

    def fail_next(self, *statuses: int) -> None:
        """Answer these statuses to the next requests, in order."""
        with self._lock:
            self.plan.fail_next.extend(statuses)

    def draw(self) -> tuple[float, int | str | None]:
        """Decide this request's fate: (latency seconds, status to fail with / 'malformed')."""
        with self._lock:
            plan = self.plan
            latency = plan.latency_ms / 1000
            if plan.fail_next:
                self.injected += 1
                return latency, plan.fail_next.pop(0)
            if plan.outage_until > time.monotonic():
                self.injected += 1
                return latency, 503
            for status, rate in plan.error_rates.items():
                if rate > 0 and self._rng.random() < rate:
                    self.injected += 1
                    return latency, int(status)
            if plan.malformed_rate > 0 and self._rng.random() < plan.malformed_rate:
                self.injected += 1
                return latency, "malformed"
            return latency, None

    def describe(self) -> dict[str, Any]:
        """The plan as JSON-able data."""
        with self._lock:
            data = asdict(self.plan)
            data["outage_seconds_left"] = max(0.0, self.plan.outage_until - time.monotonic())
            data["injected"] = self.injected
            return data


ErrorBody = dict[int, bytes]


class FaultMiddleware:
    """ASGI middleware applying ``faults`` to every non-admin request.

    Args:
        app: The sandbox app.
        faults: Shared fault state.
        error_body: Builds the vendor-shaped error body for a status.
    """

    def __init__(self, app: ASGIApp, faults: Faults, error_body: Any = None) -> None:
        self.app = app
        self.faults = faults
        self.error_body = error_body or (lambda status: orjson.dumps({"error": status}))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(ADMIN_PREFIX + "/faults"):
            await self._admin(scope, receive, send)
            return
        if path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        latency, fate = self.faults.draw()
        if latency:
            await asyncio.sleep(latency)
        if fate is None:
            await self.app(scope, receive, send)
        elif fate == "malformed":
            await _respond(send, 200, b"<html>upstream proxy error</html>", "text/html")
        else:
            status = int(fate)
            headers = [(b"retry-after", b"1")] if status in (429, 503) else []
            await _respond(send, status, self.error_body(status), "application/json", headers)

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "PUT":
            body = await _read_body(receive)
            data = orjson.loads(body or b"{}")
            rates = {int(k): float(v) for k, v in data.get("error_rates", {}).items()}
            plan = FaultPlan(
                error_rates=rates,
                malformed_rate=float(data.get("malformed_rate", 0)),
                latency_ms=float(data.get("latency_ms", 0)),
                fail_next=[int(s) for s in data.get("fail_next", [])],
                seed=int(data.get("seed", 0)),
            )
            self.faults.set(plan)
            if data.get("outage_seconds"):
                self.faults.outage(float(data["outage_seconds"]))
        elif method == "DELETE":
            self.faults.clear()
        await _respond(send, 200, orjson.dumps(self.faults.describe()), "application/json")


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
