"""Kantata OX (PSA) connector: projects as workspaces, tasks as stories."""

from interlock.connectors.kantata.client import KantataConnector
from interlock.connectors.kantata.config import KantataConfig

__all__ = ["KantataConfig", "KantataConnector"]
