"""The base of every connector's configuration spec.

A connector's spec is a pydantic model: it validates the topology entry, renders CLI help and
generates the connector reference in ``docs/connectors/``. Secrets are ``SecretStr`` and come
from environment variables named in the topology file, never from the file itself.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ConnectorConfig(BaseModel):
    """Settings every connector has."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        description="Root URL of the system's API.",
        examples=["https://acme.my.salesforce.com"],
        pattern=r"^https?://[^\s/]+",
    )
    timeout_seconds: float = Field(30.0, gt=0, le=300, description="Connect and read timeout.")
