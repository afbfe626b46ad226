"""Kantata OX (PSA) emulator: workspaces, stories, time, expenses, staffing, approvals, events."""

from interlock.sandbox.kantata.app import create_app
from interlock.sandbox.kantata.seed import seed_from_firm
from interlock.sandbox.kantata.state import DEMO_TOKEN, KantataState

__all__ = ["DEMO_TOKEN", "KantataState", "create_app", "seed_from_firm"]
