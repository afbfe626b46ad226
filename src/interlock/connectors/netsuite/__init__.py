"""NetSuite connector (SuiteTalk REST web services): customers and projects."""

from interlock.connectors.netsuite.client import NetSuiteConnector
from interlock.connectors.netsuite.config import NetSuiteConfig

__all__ = ["NetSuiteConfig", "NetSuiteConnector"]
