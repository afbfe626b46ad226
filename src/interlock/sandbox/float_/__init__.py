"""Float (resource scheduling) v3 emulator: people, projects, clients, tasks and time off."""

from interlock.sandbox.float_.app import create_app
from interlock.sandbox.float_.seed import seed_from_firm
from interlock.sandbox.float_.state import DEMO_TOKEN, FloatState

__all__ = ["DEMO_TOKEN", "FloatState", "create_app", "seed_from_firm"]
