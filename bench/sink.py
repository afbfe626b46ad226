"""A local HTTP sink for benches: accepts POSTs, answers 200 at once, counts what it saw.

    .venv/bin/python bench/sink.py [--port 0] [--max-seconds 3600]

It listens on 127.0.0.1 only, prints one JSON line ``{"port": N}`` once it is ready, and
counts requests and distinct ``Idempotency-Key`` headers. ``GET /stats`` returns the counts,
``POST /reset`` clears them, ``POST /stop`` ends the process. It also ends on SIGTERM/SIGINT,
after ``--max-seconds``, or when the process that started it is gone, so a crashed bench
never leaves it behind. `SinkProcess` starts one from another process and reads its stats.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"


class Counts:
    """What the sink has seen since start (or the last reset)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.requests = 0
        self.missing_key = 0
        self.body_bytes = 0
        self.keys: set[str] = set()

    def as_json(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "keys": len(self.keys),
            "duplicates": self.requests - self.missing_key - len(self.keys),
            "missing_key": self.missing_key,
            "body_bytes": self.body_bytes,
        }


def make_app(counts: Counts, stop: asyncio.Event) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        counts.requests += 1
        counts.body_bytes += len(body)
        key = request.headers.get("Idempotency-Key")
        if key:
            counts.keys.add(key)
        else:
            counts.missing_key += 1
        return web.Response(status=200)

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(counts.as_json())

    async def reset(_: web.Request) -> web.Response:
        counts.clear()
        return web.json_response(counts.as_json())

    async def shutdown(_: web.Request) -> web.Response:
        stop.set()
        return web.json_response({"stopping": True})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    app.router.add_post("/stop", shutdown)
    app.router.add_post("/{tail:.*}", receive)
    return app


async def serve(port: int, max_seconds: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(make_app(Counts(), stop), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, backlog=1024, reuse_address=True)
    await site.start()
    bound = runner.addresses[0][1]
    print(json.dumps({"port": bound}), flush=True)
    parent = os.getppid()
    deadline = time.monotonic() + max_seconds
    try:
        while not stop.is_set() and time.monotonic() < deadline and os.getppid() == parent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await runner.cleanup()


class SinkProcess:
    """A sink in its own process, for the duration of a ``with`` block."""

    def __init__(self, max_seconds: float = 3600.0) -> None:
        self.max_seconds = max_seconds
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self._conn: http.client.HTTPConnection | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/events"

    def __enter__(self) -> SinkProcess:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__)), "--max-seconds", str(self.max_seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.__exit__()
            raise RuntimeError("the sink process exited before it was ready")
        self.port = int(json.loads(line)["port"])
        return self

    def _call(self, method: str, path: str) -> dict[str, Any]:
        # One kept-alive connection: the bench polls often, and polling must stay cheap.
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
            try:
                self._conn.request(method, path)
                response = self._conn.getresponse()
                result: dict[str, Any] = json.loads(response.read())
                return result
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def stats(self) -> dict[str, int]:
        return {key: int(value) for key, value in self._call("GET", "/stats").items()}

    def reset(self) -> None:
        self._call("POST", "/reset")

    def __exit__(self, *_: object) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.max_seconds))


if __name__ == "__main__":
    main()
