"""Emulator of NetSuite SuiteTalk REST web services (records, SuiteQL, OAuth 2.0 M2M, TBA)."""

from interlock.sandbox.netsuite.app import create_app
from interlock.sandbox.netsuite.seed import seed_from_firm
from interlock.sandbox.netsuite.state import NetSuiteState

__all__ = ["NetSuiteState", "create_app", "seed_from_firm"]
