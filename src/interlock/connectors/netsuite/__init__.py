"""NetSuite connector (SuiteTalk REST web services): master data, projects, time, invoices."""

from interlock.connectors.netsuite.client import NetSuiteConnector, outcomes_of
from interlock.connectors.netsuite.config import NetSuiteConfig

__all__ = ["NetSuiteConfig", "NetSuiteConnector", "outcomes_of"]
