"""Configuration spec of the NetSuite connector."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from interlock.connectors.config import ConnectorConfig

_NEEDS: dict[str, tuple[str, ...]] = {
    "oauth2_m2m": ("client_id", "certificate_id", "private_key_pem"),
    "tba": ("consumer_key", "consumer_secret", "token_id", "token_secret"),
}


class NetSuiteConfig(ConnectorConfig):
    """Settings of a NetSuite account reached through SuiteTalk REST web services.

    ``base_url`` is the account's REST host, e.g.
    ``https://1234567-sb1.suitetalk.api.netsuite.com``. Two ways to sign in: OAuth 2.0
    client credentials (M2M, Oracle's recommendation: a certificate uploaded to the
    integration record, its private key here) or token-based authentication (TBA).
    """

    account_id: str = Field(
        description="Account id as NetSuite writes it (the TBA realm), with '_' kept.",
        examples=["1234567_SB1"],
        pattern=r"^[A-Za-z0-9_]+$",
    )
    auth_method: Literal["oauth2_m2m", "tba"] = Field(
        "oauth2_m2m", description="oauth2_m2m (client credentials) or tba (OAuth 1.0a)."
    )
    client_id: str | None = Field(
        None, description="OAuth 2.0: the integration record's client id (JWT iss)."
    )
    certificate_id: str | None = Field(
        None, description="OAuth 2.0: Certificate ID from the M2M setup page (JWT kid)."
    )
    private_key_pem: SecretStr | None = Field(
        None, description="OAuth 2.0: PEM private key of the certificate (RSA or EC P-256)."
    )
    signing_algorithm: Literal["PS256", "RS256", "ES256"] = Field(
        "PS256", description="OAuth 2.0: JWT signing algorithm; must suit the key type."
    )
    scopes: tuple[str, ...] = Field(
        ("restlets", "rest_webservices"), description="OAuth 2.0: scopes asked for."
    )
    consumer_key: SecretStr | None = Field(None, description="TBA: integration consumer key.")
    consumer_secret: SecretStr | None = Field(None, description="TBA: consumer secret.")
    token_id: SecretStr | None = Field(None, description="TBA: access token id.")
    token_secret: SecretStr | None = Field(None, description="TBA: access token secret.")
    subsidiary_id: str = Field(
        "1", description="Internal id of the subsidiary new customers and projects belong to."
    )
    service_item_id: str = Field(
        "1",
        description="Internal id of the service item put on invoice lines and time bills.",
    )
    concurrency: int = Field(
        5,
        ge=1,
        le=100,
        description=(
            "Most requests this connector runs at once, across all flows using it (the "
            "account's concurrency limit, or the part of it given to this integration)."
        ),
    )

    @model_validator(mode="after")
    def _credentials_for_method(self) -> NetSuiteConfig:
        missing = [name for name in _NEEDS[self.auth_method] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"auth_method {self.auth_method!r} needs {', '.join(missing)}")
        return self
