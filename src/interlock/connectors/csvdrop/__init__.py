"""CSV file drops (legacy, on-premises): approved time in, general-ledger journal files out."""

from interlock.connectors.csvdrop.client import CsvDropConnector
from interlock.connectors.csvdrop.config import CsvDropConfig, LedgerAccounts

__all__ = ["CsvDropConfig", "CsvDropConnector", "LedgerAccounts"]
