"""One NATS connection on a private event loop, driven from synchronous code.

The engine is synchronous; nats-py is asyncio. A ``FabricClient`` owns a daemon thread running
an event loop and a connection on it; ``call`` runs a coroutine there and waits for the
result. The connection is made on first use and made again after it closed (nats-py gives up
after one failed reconnect, so a NATS restart costs one failed round, not a stuck worker).
nats-py is imported lazily, and every nats-py or socket error is translated here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from interlock.exceptions import ConfigError, ConnectorUnavailable, InterlockError
from interlock.fabric.config import NatsSettings

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

log = logging.getLogger("interlock.fabric")

SYSTEM = "nats"
T = TypeVar("T")


def nats_module(name: str = "nats") -> ModuleType:
    """Import ``name`` from nats-py, or say which extra installs it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ConfigError(
            "environment",
            "INTERLOCK_NATS_URL",
            "the event fabric needs nats-py: pip install 'interlock[nats]'",
        ) from None


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn nats-py, socket and timeout errors into ``ConnectorUnavailable``."""
    errors = nats_module("nats.errors")
    try:
        yield
    except InterlockError:
        raise
    except (TimeoutError, errors.Error, OSError) as exc:
        detail = str(exc) or type(exc).__name__
        raise ConnectorUnavailable(SYSTEM, f"{what}: {detail}") from exc


@dataclass(frozen=True)
class Session:
    """A live connection and its JetStream context."""

    nc: Client
    js: JetStreamContext


class FabricClient:
    """A NATS connection owned by a background event loop thread.

    Args:
        settings: Where NATS is and how long to wait.
        on_connect: Run on the loop after each new connection (e.g. ensure the stream).
    """

    def __init__(
        self,
        settings: NatsSettings,
        on_connect: Callable[[Session], Awaitable[None]] | None = None,
    ) -> None:
        nats_module()
        self.settings = settings
        self._on_connect = on_connect
        self._session: Session | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="interlock-nats", daemon=True
        )
        self._thread.start()
        self._closed = False

    def call(
        self, work: Callable[[Session], Awaitable[T]], what: str, timeout: float | None = None
    ) -> T:
        """Run ``work`` with a connected session on the loop; wait for its result."""
        if self._closed:
            raise ConnectorUnavailable(SYSTEM, f"{what}: the client is closed")
        limit = (timeout or self.settings.request_timeout_seconds) + self._connect_budget()
        future = asyncio.run_coroutine_threadsafe(self._run(work, what), self._loop)
        try:
            return future.result(limit)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ConnectorUnavailable(SYSTEM, f"{what}: no answer in {limit:.1f} s") from None

    def close(self) -> None:
        """Close the connection and stop the loop thread. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        with contextlib.suppress(Exception):
            future.result(self.settings.request_timeout_seconds + 1.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._loop.is_running():
            self._loop.close()

    def _connect_budget(self) -> float:
        return 2 * self.settings.connect_timeout_seconds + 1.0

    async def _run(self, work: Callable[[Session], Awaitable[T]], what: str) -> T:
        with translated(what):
            session = await self._connected()
            return await work(session)

    async def _connected(self) -> Session:
        if self._session is not None and not self._session.nc.is_closed:
            return self._session
        nats = nats_module()
        settings = self.settings
        options: dict[str, Any] = {
            "servers": settings.servers,
            "name": "interlock",
            "connect_timeout": settings.connect_timeout_seconds,
            # One quick retry, then the client closes and the next call connects afresh.
            "max_reconnect_attempts": 1,
            "reconnect_time_wait": 0.5,
            "error_cb": _log_error,
            "disconnected_cb": _log_disconnected,
        }
        if settings.token is not None:
            options["token"] = settings.token.get_secret_value()
        if settings.credentials_file:
            options["user_credentials"] = settings.credentials_file
        with translated(f"connecting to NATS at {_hosts(settings)}"):
            nc = await nats.connect(**options)
        try:
            js = nc.jetstream(timeout=settings.request_timeout_seconds)
            session = Session(nc, js)
            if self._on_connect is not None:
                await self._on_connect(session)
        except BaseException:
            await nc.close()
            raise
        self._session = session
        return session

    async def _shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.nc.is_closed:
            # close, not drain: a pull subscription's drain waits for replies nobody reads.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.nc.close(), self.settings.request_timeout_seconds)
        current = asyncio.current_task()
        leftovers = [task for task in asyncio.all_tasks() if task is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)


def _hosts(settings: NatsSettings) -> str:
    # Host and port only: a URL may carry a user and password.
    hosts = []
    for url in settings.servers:
        hosts.append(url.rsplit("@", 1)[-1])
    return ", ".join(hosts)


async def _log_error(exc: Exception) -> None:
    log.warning("nats: %s", str(exc) or type(exc).__name__)


async def _log_disconnected() -> None:
    log.info("nats: disconnected")
