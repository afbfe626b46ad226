"""Float (resource scheduling) connector: projects, placeholder demand and allocations."""

from interlock.connectors.float_.client import FloatConnector
from interlock.connectors.float_.config import FloatConfig

__all__ = ["FloatConfig", "FloatConnector"]
