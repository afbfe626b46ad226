"""Fault injection shared by every sandbox: errors, latency, outages, timeouts, a quota.

Errors by status, malformed bodies, added latency, outage windows, timeouts and a request
quota.

Faults are set on a ``Faults`` object (in process), through the admin endpoint that
``FaultMiddleware`` mounts at ``/__admin/faults`` (GET shows, PUT replaces, DELETE clears), or
with ``interlock faults set URL ...``. Admin paths (``/__admin/...``) are never faulted.

A *timeout* holds the request without answering for ``timeout_ms`` (capped by
``Faults.max_hold_seconds``) and then drops the connection, so the client times out. A
*quota* of N lets N requests through after the plan is set and answers every later one with
the vendor's limit error (``quota_status``: 429 by default; Salesforce passes 403) until the
plan is cleared.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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
        timeout_rate: Probability of holding a request unanswered, then dropping it.
        timeout_ms: How long a held request is kept before the connection is dropped.
        quota: Requests allowed after the plan was set; later ones get ``quota_status``.
        quota_status: Status of quota refusals; None for the sandbox's own (429 by default).
    """

    error_rates: dict[int, float] = field(default_factory=dict)
    malformed_rate: float = 0.0
    latency_ms: float = 0.0
    outage_until: float = 0.0
    fail_next: list[int] = field(default_factory=list)
    seed: int = 0
    timeout_rate: float = 0.0
    timeout_ms: float = 35_000.0
    quota: int | None = None
    quota_status: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultPlan:
        """A plan from the admin endpoint's JSON (``outage_seconds`` is applied by the caller)."""
        quota, quota_status = data.get("quota"), data.get("quota_status")
        return cls(
            error_rates={int(k): float(v) for k, v in (data.get("error_rates") or {}).items()},
            malformed_rate=float(data.get("malformed_rate", 0)),
            latency_ms=float(data.get("latency_ms", 0)),
            fail_next=[int(s) for s in data.get("fail_next", [])],
            seed=int(data.get("seed", 0)),
            timeout_rate=float(data.get("timeout_rate", 0)),
            timeout_ms=float(data.get("timeout_ms", 35_000.0)),
            quota=None if quota is None else int(quota),
            quota_status=None if quota_status is None else int(quota_status),
        )


Fate = int | Literal["malformed", "timeout", "quota"] | None
"""What happens to a request: a status to fail with, a malformed body, a timeout, a quota
refusal, or None (served normally)."""


class Faults:
    """Thread-safe holder of the current fault plan.

    Args:
        max_hold_seconds: Cap on how long a timeout holds a request (tests lower it).

    Attributes:
        injected: Requests faulted so far (every kind).
        quota_used: Requests counted against the plan's quota since it was set.
        quota_refused: Requests refused because the quota was used up.
        timeouts: Requests held and dropped.
    """

    def __init__(self, *, max_hold_seconds: float = 60.0) -> None:
        self._lock = threading.Lock()
        self.plan = FaultPlan()
        self._rng = random.Random(0)
        self.max_hold_seconds = max_hold_seconds
        self.injected = 0
        self.quota_used = 0
        self.quota_refused = 0
        self.timeouts = 0

    def set(self, plan: FaultPlan) -> None:
        """Replace the plan (and start counting its quota from zero)."""
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)
            self.quota_used = 0

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

    def hold_seconds(self) -> float:
        """How long a timeout holds its request."""
        return min(self.plan.timeout_ms / 1000, self.max_hold_seconds)

    def draw(self) -> tuple[float, Fate]:
        """Decide this request's fate: (latency seconds, what happens to it)."""
        with self._lock:
            plan = self.plan
            latency = plan.latency_ms / 1000
            if plan.fail_next:
                self.injected += 1
                return latency, plan.fail_next.pop(0)
            if plan.outage_until > time.monotonic():
                self.injected += 1
                return latency, 503
            if plan.quota is not None:
                self.quota_used += 1
                if self.quota_used > plan.quota:
                    self.injected += 1
                    self.quota_refused += 1
                    return latency, "quota"
            if plan.timeout_rate > 0 and self._rng.random() < plan.timeout_rate:
                self.injected += 1
                self.timeouts += 1
                return 0.0, "timeout"
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
            data["error_rates"] = {str(k): v for k, v in self.plan.error_rates.items()}
            data["outage_seconds_left"] = max(0.0, self.plan.outage_until - time.monotonic())
            data["injected"] = self.injected
            data["quota_used"] = self.quota_used
            data["quota_refused"] = self.quota_refused
            data["timeouts"] = self.timeouts
            return data


ErrorBody = dict[int, bytes]


class FaultMiddleware:
    """ASGI middleware applying ``faults`` to every non-admin request.

    Args:
        app: The sandbox app.
        faults: Shared fault state.
        error_body: Builds the vendor-shaped error body for a status.
        quota_status: Status the vendor answers when its quota is used up (a plan's
            ``quota_status`` overrides it).
    """

    def __init__(
        self,
        app: ASGIApp,
        faults: Faults,
        error_body: Callable[[int], bytes] | None = None,
        quota_status: int = 429,
    ) -> None:
        self.app = app
        self.faults = faults
        self.error_body = error_body or (lambda status: orjson.dumps({"error": status}))
        self.quota_status = quota_status

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
        elif fate == "timeout":
            await _hold_and_drop(receive, send, self.faults.hold_seconds())
        elif fate == "quota":
            status = self.faults.plan.quota_status or self.quota_status
            await _respond(send, status, self.error_body(status), "application/json")
        else:
            status = int(fate)
            headers = [(b"retry-after", b"1")] if status in (429, 503) else []
            await _respond(send, status, self.error_body(status), "application/json", headers)

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "PUT":
            body = await _read_body(receive)
            try:
                data = orjson.loads(body or b"{}")
                plan = FaultPlan.from_json(data)
            except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
                problem = orjson.dumps({"error": f"invalid fault plan: {exc}"})
                await _respond(send, 400, problem, "application/json")
                return
            self.faults.set(plan)
            if data.get("outage_seconds"):
                self.faults.outage(float(data["outage_seconds"]))
        elif method == "DELETE":
            self.faults.clear()
        await _respond(send, 200, orjson.dumps(self.faults.describe()), "application/json")


async def _hold_and_drop(receive: Receive, send: Send, seconds: float) -> None:
    """Answer nothing for ``seconds``, then drop the connection (unless the client left)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body"):
            break
    try:
        await asyncio.wait_for(receive(), seconds)  # http.disconnect once the client gives up
        return
    except TimeoutError:
        pass
    # A started response that never completes makes the server close the connection.
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]}
    await send(start)


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
