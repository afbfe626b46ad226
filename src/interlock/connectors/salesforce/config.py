"""Configuration spec of the Salesforce connector."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, model_validator

from interlock.connectors.config import ConnectorConfig
from interlock.connectors.salesforce.jwt_bearer import load_private_key

_NEEDS: dict[str, tuple[str, ...]] = {
    "client_credentials": ("client_secret",),
    "jwt_bearer": ("username", "private_key_pem"),
}


class SalesforceConfig(ConnectorConfig):
    """Connect to a Salesforce org with OAuth 2.0 client credentials or the JWT bearer flow.

    The connected app needs the chosen flow enabled: client credentials with a "run as" user,
    or JWT bearer with the certificate of ``private_key_pem`` uploaded and ``username``
    pre-authorised. The user needs API access to Account, Opportunity and ``SOW_Line__c``.
    The org must have multi-currency enabled (the connector reads ``CurrencyIsoCode``).
    """

    # Validation errors would otherwise echo the raw input, secrets included.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    base_url: str = Field(
        description="The org's My Domain URL. The token is requested here; REST calls go to "
        "the instance URL the token response names.",
        examples=["https://acme.my.salesforce.com"],
        pattern=r"^https?://[^\s/]+",
    )
    auth_flow: Literal["client_credentials", "jwt_bearer"] = Field(
        "client_credentials",
        description="OAuth 2.0 flow: client_credentials (needs client_secret) or jwt_bearer "
        "(needs username and private_key_pem).",
    )
    client_id: str = Field(
        min_length=1,
        description="Consumer key of the connected app (the JWT ``iss`` in the JWT bearer flow).",
        examples=["3MVG9...hub"],
    )
    client_secret: SecretStr | None = Field(
        None,
        description="client_credentials: consumer secret of the connected app. Give it through "
        "an environment variable named in the topology file.",
    )
    username: str | None = Field(
        None,
        description="jwt_bearer: the Salesforce username the hub acts as (the JWT ``sub``).",
        examples=["integration@acme.com"],
    )
    private_key_pem: SecretStr | None = Field(
        None,
        description="jwt_bearer: PEM RSA private key whose certificate is uploaded to the "
        "connected app. Give it through an environment variable.",
    )
    jwt_audience: str = Field(
        "https://login.salesforce.com",
        description="jwt_bearer: the JWT ``aud``: https://login.salesforce.com, "
        "https://test.salesforce.com for sandboxes, or an Experience Cloud site URL.",
    )
    api_version: str = Field(
        "62.0",
        pattern=r"^\d{2,3}\.\d$",
        description="REST API version used in ``/services/data/vNN.N/`` (46.0 or later for "
        "batched upserts).",
        examples=["62.0"],
    )
    page_size: int = Field(
        2000,
        ge=200,
        le=2000,
        description="Records per query batch asked for with the ``Sforce-Query-Options`` "
        "header. A hint: Salesforce may send fewer.",
    )
    client_name: str = Field(
        "interlock",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Sent as ``Sforce-Call-Options: client=<name>`` on every call; Change Data "
        "Capture events of the hub's own writes carry it in ``changeOrigin``.",
    )
    limit_pause_seconds: float = Field(
        3600.0,
        gt=0,
        description="How long to pause after ``REQUEST_LIMIT_EXCEEDED`` when the org does not "
        "say when its rolling 24-hour request budget refills (Salesforce sends no Retry-After).",
    )

    @model_validator(mode="after")
    def _credentials_for_flow(self) -> SalesforceConfig:
        missing = [name for name in _NEEDS[self.auth_flow] if not getattr(self, name)]
        if missing:
            raise ValueError(f"auth_flow {self.auth_flow!r} needs {', '.join(missing)}")
        if self.auth_flow == "jwt_bearer" and self.private_key_pem is not None:
            load_private_key(self.private_key_pem)  # raises ValueError naming the field
        return self
