"""Connectors: one package per external system, registered explicitly in ``CONNECTOR_TYPES``.

A connector's SDK-heavy code is imported only when the topology uses it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from interlock.connectors.base import ChangePage, Connector, NativeChange, UpsertResult
from interlock.connectors.config import ConnectorConfig
from interlock.exceptions import ConfigError
from interlock.topology import SystemSpec, resolve_credentials


@dataclass(frozen=True)
class ConnectorType:
    """Where a connector type's class and config spec live (``module:attribute``)."""

    name: str
    connector: str
    config: str
    summary: str

    def load(self) -> tuple[type[Connector], type[BaseModel]]:
        """Import the connector class and its config model."""
        return _attr(self.connector), _attr(self.config)


def _attr(path: str) -> type:
    module, _, name = path.partition(":")
    loaded: type = getattr(importlib.import_module(module), name)
    return loaded


CONNECTOR_TYPES: dict[str, ConnectorType] = {
    t.name: t
    for t in (
        ConnectorType(
            "salesforce",
            "interlock.connectors.salesforce:SalesforceConnector",
            "interlock.connectors.salesforce:SalesforceConfig",
            "Salesforce REST API (CRM): opportunities, accounts.",
        ),
        ConnectorType(
            "netsuite",
            "interlock.connectors.netsuite:NetSuiteConnector",
            "interlock.connectors.netsuite:NetSuiteConfig",
            "NetSuite SuiteTalk REST (ERP): customers, projects and tasks, employees, "
            "allocations, time bills, expense reports, invoices.",
        ),
        ConnectorType(
            "tryton",
            "interlock.connectors.tryton:TrytonConnector",
            "interlock.connectors.tryton:TrytonConfig",
            "Tryton 8.2 JSON-RPC (ERP and PSA): customers, consultants, projects, allocations, "
            "time, invoices.",
        ),
        ConnectorType(
            "csv_drop",
            "interlock.connectors.csvdrop:CsvDropConnector",
            "interlock.connectors.csvdrop:CsvDropConfig",
            "CSV file drops (legacy, on-premises): approved time in, general-ledger journals out.",
        ),
        ConnectorType(
            "example_crm",
            "interlock.connectors.example:ExampleCrmConnector",
            "interlock.connectors.example:ExampleCrmConfig",
            "Example CRM (the connector guide's worked example): deals and companies.",
        ),
        ConnectorType(
            "float",
            "interlock.connectors.float_:FloatConnector",
            "interlock.connectors.float_:FloatConfig",
            "Float API v3 (resource scheduling): projects, placeholder demand, allocations.",
        ),
        ConnectorType(
            "kantata",
            "interlock.connectors.kantata:KantataConnector",
            "interlock.connectors.kantata:KantataConfig",
            "Kantata OX API v1 (PSA): workspaces, stories, approved time and expenses, "
            "allocations.",
        ),
        ConnectorType(
            "webhook",
            "interlock.connectors.webhook:WebhookConnector",
            "interlock.connectors.webhook:WebhookConfig",
            "Outbound webhooks: canonical events POSTed (signed, idempotency-keyed) to a "
            "subscriber's endpoint, many in flight at once.",
        ),
    )
}
"""Connector type name (as written in the topology) → where its code lives."""


def build_connector(
    name: str, spec: SystemSpec, environ: Mapping[str, str] | None = None, source: str = "topology"
) -> Connector:
    """Build the connector for one topology entry; bad settings raise ConfigError."""
    kind = CONNECTOR_TYPES.get(spec.type)
    if kind is None:
        known = ", ".join(sorted(CONNECTOR_TYPES))
        raise ConfigError(
            source, f"systems.{name}.type", f"unknown connector type {spec.type!r} (known: {known})"
        )
    connector_cls, config_cls = kind.load()
    values: dict[str, object] = {"base_url": spec.base_url, **spec.options}
    values.update(resolve_credentials(name, spec, environ))
    try:
        config = config_cls.model_validate(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in error["loc"]) or "(root)"
        section = "credentials" if key in spec.credentials else "options"
        raise ConfigError(source, f"systems.{name}.{section}.{key}", str(error["msg"])) from None
    return connector_cls(name, config)  # type: ignore[call-arg]


__all__ = [
    "CONNECTOR_TYPES",
    "ChangePage",
    "Connector",
    "ConnectorConfig",
    "ConnectorType",
    "NativeChange",
    "UpsertResult",
    "build_connector",
]
