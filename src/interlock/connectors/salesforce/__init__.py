"""Salesforce CRM connector (REST API, OAuth 2.0 client credentials, SOQL polling)."""

from interlock.connectors.salesforce.client import SalesforceConnector
from interlock.connectors.salesforce.config import SalesforceConfig

__all__ = ["SalesforceConfig", "SalesforceConnector"]
