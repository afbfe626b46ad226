"""The base of every connector's configuration spec.

A connector's spec is a pydantic model: it validates the topology entry, renders CLI help and
generates the connector reference in ``docs/connectors/``. Secrets are ``SecretStr`` and come
from environment variables named in the topology file, never from the file itself.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ConnectorConfig(BaseModel):
    """Settings every connector has."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    base_url: str = Field(
        description="Root URL of the system's API.",
        examples=["https://acme.my.salesforce.com"],
        pattern=r"^https?://[^\s/]+",
    )
    timeout_seconds: float = Field(30.0, gt=0, le=300, description="Connect and read timeout.")
    max_concurrency: int | None = Field(
        None,
        ge=1,
        description="Requests in flight at once to this system, across every flow and worker "
        "sharing the budget; empty for no limit.",
    )
    requests_per_minute: int | None = Field(
        None,
        ge=1,
        description="Requests of any kind in any rolling minute; empty for no limit.",
    )
    reads_per_minute: int | None = Field(
        None,
        ge=1,
        description="Reads (GET, HEAD) in any rolling minute; empty for no limit.",
    )
    writes_per_minute: int | None = Field(
        None,
        ge=1,
        description="Writes (every other method) in any rolling minute; empty for no limit.",
    )
    daily_requests: int | None = Field(
        None,
        ge=1,
        description="Requests in any rolling 24 hours (a daily API quota); empty for no limit. "
        "Quotas the system reports in headers (Sforce-Limit-Info, X-RateLimit-*) are followed "
        "too.",
    )
    max_quota_wait_seconds: float = Field(
        10.0,
        ge=0,
        description="Longest a request waits for the budget; when a limit refills later, the "
        "work is parked and retried when it has (RateLimited with retry_after).",
    )
