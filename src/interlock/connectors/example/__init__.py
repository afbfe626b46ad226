"""Example CRM connector: the worked example of the connector guide (docs/connector-guide.md).

Reads deals (as opportunities) and companies (as customers), writes customers as companies.
"""

from interlock.connectors.example.client import ExampleCrmConnector
from interlock.connectors.example.config import ExampleCrmConfig

__all__ = ["ExampleCrmConfig", "ExampleCrmConnector"]
