"""The worker loop: ingest changes, dispatch journaled events to flows, execute runs."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from interlock.connectors.base import Connector
from interlock.engine.dispatch import dispatch_many
from interlock.engine.flow import Flow
from interlock.engine.ingest import poll
from interlock.engine.retry import RetryPolicy
from interlock.engine.runner import Runner
from interlock.exceptions import ConfigError, InterlockError
from interlock.store import Store, journal, runs

log = logging.getLogger("interlock.engine")


class Fabric(Protocol):
    """An event channel the worker drives each round (the NATS relay or inbound)."""

    def once(self) -> int:
        """Move one batch; return how many events moved."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@dataclass(frozen=True)
class Source:
    """A (system, kind) pair whose changes are polled."""

    system: str
    kind: str


def worker_id() -> str:
    """A name for this worker process, unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Engine:
    """Ingestion, dispatch and execution for one worker process.

    Args:
        store: The database.
        systems: Connected systems by topology name.
        roles: Role → topology name.
        flows: Enabled flows, in order. Each event goes to every flow that triggers on it.
        sources: What to poll for changes.
        batch: Events and runs claimed per round.
        lease: How long a claim is held before another worker may take it over.
    """

    def __init__(
        self,
        store: Store,
        systems: Mapping[str, Connector],
        roles: Mapping[str, str],
        flows: Sequence[Flow],
        sources: Sequence[Source],
        *,
        batch: int = 100,
        lease: dt.timedelta = dt.timedelta(seconds=30),
        policy: RetryPolicy | None = None,
        worker: str | None = None,
        fabric: Sequence[Fabric] = (),
    ) -> None:
        self.store = store
        self.systems = systems
        self.roles = roles
        self.flows = {flow.name: flow for flow in flows}
        self.sources = list(sources)
        self.batch = batch
        self.lease = lease
        self.worker = worker or worker_id()
        self.fabric = list(fabric)
        for flow in flows:
            for role in flow.required_roles:
                if role not in roles:
                    raise ConfigError(
                        "topology", f"flows.{flow.name}", f"needs a system with role {role!r}"
                    )
        self.runner = Runner(
            store, self.flows, systems, roles, worker=self.worker, lease=lease, policy=policy
        )

    def ingest(self) -> int:
        """Poll every source once (all pages). Returns new journal entries."""
        added = 0
        for source in self.sources:
            more = True
            while more:
                try:
                    count, more = poll(
                        self.store, self.systems[source.system], source.kind, self.batch
                    )
                except (InterlockError, NotImplementedError) as exc:
                    # NotImplementedError: the connector cannot read this kind (a topology
                    # mistake); the other sources go on.
                    log.warning("polling %s/%s failed: %s", source.system, source.kind, exc)
                    break
                added += count
        return added

    def dispatch(self) -> int:
        """Hand claimed journal entries to flows, starting runs. Returns entries handled."""
        with self.store.transaction("dispatching events") as conn:
            entries = journal.claim(conn, self.worker, self.batch, self.lease)
            fresh = dispatch_many(
                conn, entries, list(self.flows.values()), self.systems, self.roles, defer=True
            )
        if fresh:  # new runs: their first step runs now, before they are stored
            self.runner.execute_fresh(fresh)
        return len(entries)

    def work_once(self) -> int:
        """One round: ingest, dispatch, execute. Returns units of work done."""
        done = self.ingest()
        done += self.dispatch()
        done += self.runner.run_due(self.batch)
        for connector in self.systems.values():
            connector.flush()  # file drops write their batches
        for channel in self.fabric:  # NATS: relay the outbox, journal inbound events
            try:
                done += channel.once()
            except InterlockError as exc:
                log.warning("event fabric round failed: %s", exc)
        return done

    def run_until_idle(self, timeout: float = 60.0, settle_rounds: int = 2) -> None:
        """Work until nothing is left to do now or within a second (or until ``timeout``).

        For demos, tests and one-shot jobs; ``settle_rounds`` idle rounds in a row end it.
        """
        deadline = time.monotonic() + timeout
        idle = 0
        while idle < settle_rounds and time.monotonic() < deadline:
            if self.work_once():
                idle = 0
            elif runs.due_within(self.store, dt.timedelta(seconds=1)):
                time.sleep(0.02)
            else:
                idle += 1

    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        """Work until ``stop`` is set; sleep ``poll_seconds`` when idle."""
        log.info("worker %s started", self.worker)
        while not stop.is_set():
            try:
                busy = self.work_once()
            except InterlockError as exc:
                log.error("worker round failed: %s", exc)
                busy = 0
            if not busy:
                stop.wait(poll_seconds)
        log.info("worker %s stopped", self.worker)
