"""Interlock: an integration hub that keeps CRM, PSA, scheduler and ERP in step."""

from interlock.connectors.base import Connector, NativeChange, UpsertResult
from interlock.connectors.config import ConnectorConfig
from interlock.engine import Decision, Engine, Flow, RetryPolicy, StepContext
from interlock.events import CloudEvent, event_type
from interlock.exceptions import InterlockError
from interlock.store import Store

__version__ = "0.1.0"

__all__ = [
    "CloudEvent",
    "Connector",
    "ConnectorConfig",
    "Decision",
    "Engine",
    "Flow",
    "InterlockError",
    "NativeChange",
    "RetryPolicy",
    "StepContext",
    "Store",
    "UpsertResult",
    "__version__",
    "event_type",
]
