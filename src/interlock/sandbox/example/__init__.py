"""Example CRM emulator: the vendor of the connector guide's worked example.

Companies and deals over a small REST API with bearer API keys, cursor paging,
``updated_since`` polling, idempotency keys, field-naming errors and a request budget.
"""

from interlock.sandbox.example.app import create_app
from interlock.sandbox.example.seed import seed_from_firm
from interlock.sandbox.example.state import DEMO_API_KEY, ExampleCrmState

__all__ = ["DEMO_API_KEY", "ExampleCrmState", "create_app", "seed_from_firm"]
