"""An emulated Salesforce org (REST API, OAuth client credentials, SOQL) for tests and demos.

Usage::

    state = SalesforceState(page_size=200)
    deals = seed_from_firm(state, generate_firm(seed=7))
    app = create_app(state)          # serve with interlock.sandbox.server.SandboxServer
    state.win(deals["D0001"])        # a rep closes a deal
"""

from interlock.sandbox.salesforce.app import create_app
from interlock.sandbox.salesforce.errors import ApiError
from interlock.sandbox.salesforce.seed import BILLING_TYPES, SEGMENTS, seed_from_firm
from interlock.sandbox.salesforce.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SalesforceState,
)

__all__ = [
    "BILLING_TYPES",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "SEGMENTS",
    "ApiError",
    "SalesforceState",
    "create_app",
    "seed_from_firm",
]
