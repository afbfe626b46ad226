"""The engine: journal-driven, durable flow runs with idempotent steps."""

from interlock.engine.flow import Decision, Flow, Step, StepContext
from interlock.engine.retry import RetryPolicy
from interlock.engine.worker import Engine, Source

__all__ = ["Decision", "Engine", "Flow", "RetryPolicy", "Source", "Step", "StepContext"]
