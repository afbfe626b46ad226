"""Configuration spec of the Kantata OX connector."""

from __future__ import annotations

from pydantic import Field, SecretStr

from interlock.connectors.config import ConnectorConfig


class KantataConfig(ConnectorConfig):
    """Settings of a Kantata OX (formerly Mavenlink) connection.

    Kantata's OAuth 2.0 authorization-code flow is interactive, so the connector is given an
    access token obtained once by an account administrator; there is no refresh.
    """

    base_url: str = Field(
        "https://api.mavenlink.com",
        description="Root URL of the Kantata OX API host; /api/v1 is added unless given.",
        examples=["https://api.mavenlink.com"],
        pattern=r"^https?://[^\s/]+",
    )
    access_token: SecretStr = Field(
        description="OAuth 2.0 bearer token of the integration user (an account administrator; "
        "Subscribed Events needs one).",
    )
    external_service_name: str = Field(
        "interlock",
        min_length=1,
        description="service_name of the external references Interlock registers on the "
        "workspaces and stories it writes, and looks them up by.",
    )
    per_page: int = Field(200, ge=1, le=200, description="Page size of list requests (max 200).")
    event_overlap_seconds: float = Field(
        120.0,
        ge=0,
        description="How far before the cursor each read of Subscribed Events starts again, to "
        "catch events Kantata generated late; events already delivered are skipped by id.",
    )
    rate_limit_retry_seconds: float = Field(
        10.0,
        gt=0,
        description="Retry delay reported on HTTP 429. Kantata sends no Retry-After and only "
        "says to retry after a small delay.",
    )
    hard_allocations: bool = Field(
        True,
        description="Write assignments as hard workspace allocations (booked); false writes "
        "them soft (tentative).",
    )
