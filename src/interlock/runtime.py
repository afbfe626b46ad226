"""Assembles a running hub from settings and a topology: store, connectors, flows, engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from interlock.connectors import build_connector
from interlock.connectors.base import Connector
from interlock.engine import Engine, RetryPolicy, Source
from interlock.engine.flow import Flow
from interlock.exceptions import ConfigError
from interlock.flows import FLOW_TYPES
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
    systems = {
        name: build_connector(name, spec, environ, source)
        for name, spec in topology.systems.items()
    }
    roles: dict[str, str] = {}
    for member in Role:
        names = [n for n, s in topology.systems.items() if s.role == member]
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
    store = Store(settings.database_url)
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
    )
    return Hub(store, systems, roles, flows, engine)
