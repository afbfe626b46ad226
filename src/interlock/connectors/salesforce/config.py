"""Configuration spec of the Salesforce connector."""

from __future__ import annotations

from pydantic import Field, SecretStr

from interlock.connectors.config import ConnectorConfig


class SalesforceConfig(ConnectorConfig):
    """Connect to a Salesforce org with the OAuth 2.0 client-credentials flow.

    The connected app needs the client-credentials flow enabled and a "run as" user with API
    access to Account, Opportunity and ``SOW_Line__c``. The org must have multi-currency
    enabled (the connector reads ``CurrencyIsoCode``).
    """

    base_url: str = Field(
        description="The org's My Domain URL. The token is requested here; REST calls go to "
        "the instance URL the token response names.",
        examples=["https://acme.my.salesforce.com"],
        pattern=r"^https?://[^\s/]+",
    )
    client_id: str = Field(
        min_length=1,
        description="Consumer key of the connected app.",
        examples=["3MVG9...hub"],
    )
    client_secret: SecretStr = Field(
        description="Consumer secret of the connected app. Give it through an environment "
        "variable named in the topology file.",
    )
    api_version: str = Field(
        "62.0",
        pattern=r"^\d{2,3}\.\d$",
        description="REST API version used in ``/services/data/vNN.N/``.",
        examples=["62.0"],
    )
    page_size: int = Field(
        2000,
        ge=200,
        le=2000,
        description="Records per query batch asked for with the ``Sforce-Query-Options`` "
        "header. A hint: Salesforce may send fewer.",
    )
