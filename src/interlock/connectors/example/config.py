"""Configuration spec of the Example CRM connector."""

from __future__ import annotations

from pydantic import Field, SecretStr

from interlock.connectors.config import ConnectorConfig


class ExampleCrmConfig(ConnectorConfig):
    """Connect to Example CRM with an API key.

    Create the key in Example CRM for an integration user who may read deals and read and write
    companies. Interlock writes the canonical id into the ``external_id`` field of every company
    it creates and finds its companies by it.
    """

    base_url: str = Field(
        description="Root URL of the Example CRM account; the API is under /api.",
        examples=["https://acme.example-crm.test"],
        pattern=r"^https?://[^\s/]+",
    )
    api_key: SecretStr = Field(
        description="API key, sent as a bearer token. Give it through an environment variable "
        "named in the topology file.",
    )
    page_size: int = Field(
        100, ge=1, le=100, description="Records per list request (the API allows at most 100)."
    )
