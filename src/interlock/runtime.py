"""Assembles a running hub from settings and a topology: store, connectors, flows, engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from interlock.connectors import build_connector
from interlock.connectors.base import Connector
from interlock.engine import Engine, RetryPolicy, Source
from interlock.engine.flow import Flow
from interlock.engine.worker import Fabric
from interlock.exceptions import ConfigError
from interlock.flows import FLOW_TYPES
from interlock.quota import LocalBudget, budgets
from interlock.settings import Settings
from interlock.store import Store
from interlock.topology import Role, Topology


@dataclass
class Hub:
    """Everything one process needs to do Interlock's work."""

    store: Store
    systems: dict[str, Connector]
    roles: dict[str, str]
    flows: list[Flow]
    engine: Engine

    def close(self) -> None:
        """Release connections."""
        for channel in self.engine.fabric:
            channel.close()
        for connector in self.systems.values():
            connector.close()
        self.store.close()


def build_hub(
    settings: Settings,
    topology: Topology,
    *,
    environ: Mapping[str, str] | None = None,
    source: str = "topology",
    policy: RetryPolicy | None = None,
    worker: str | None = None,
) -> Hub:
    """Build the hub. Every configuration error surfaces here, before any work starts."""
    store = Store(settings.database_url)
    store.upgrade()  # idempotent; the shared request budgets below need their tables
    shared = store.engine.dialect.name == "postgresql"
    if shared:
        # Several worker processes: vendor budgets are shared through the database. On the
        # single-node SQLite default each process keeps its budgets in memory.
        budgets.use_database(store.engine)
    try:
        systems = {
            name: build_connector(name, spec, environ, source)
            for name, spec in topology.systems.items()
        }
    finally:
        if shared:
            budgets.use(LocalBudget)  # only this hub's connectors share through its database
    roles: dict[str, str] = {}
    for member in Role:
        names = [n for n, s in topology.systems.items() if member in s.roles]
        if names:
            roles[member.value] = names[0]
    flows: list[Flow] = []
    for name in topology.enabled_flows():
        flow_type = FLOW_TYPES.get(name)
        if flow_type is None:
            known = ", ".join(sorted(FLOW_TYPES))
            raise ConfigError(source, f"flows.{name}", f"unknown flow (known: {known})")
        flows.append(flow_type())
    sources = []
    for flow in flows:
        for role_name, kind in flow.sources:
            if role_name in roles and Source(roles[role_name], kind) not in sources:
                sources.append(Source(roles[role_name], kind))
    fabric = _fabric(store)
    engine = Engine(
        store,
        systems,
        roles,
        flows,
        sources,
        batch=settings.worker_batch,
        lease=dt.timedelta(seconds=settings.lease_seconds),
        policy=policy,
        worker=worker,
        fabric=fabric,
    )
    return Hub(store, systems, roles, flows, engine)


def _fabric(store: Store) -> list[Fabric]:
    """The NATS channels switched on by INTERLOCK_NATS_PUBLISH / INTERLOCK_NATS_CONSUME."""
    from interlock.fabric import NatsInbound, NatsSettings, OutboxRelay

    settings = NatsSettings()
    channels: list[Fabric] = []
    if settings.publish:
        channels.append(OutboxRelay(store, settings))
    if settings.consume:
        channels.append(NatsInbound(store, settings))
    return channels
