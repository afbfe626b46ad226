"""An emulated Salesforce org for tests and demos.

REST API (sObject rows, upsert by external id, SOQL with paging, sObject Collections,
get-deleted/get-updated), OAuth 2.0 client-credentials and JWT bearer flows, a rolling daily
request budget, and Change Data Capture events pushed to subscriber endpoints.

Usage::

    state = SalesforceState(page_size=200)
    deals = seed_from_firm(state, generate_firm(seed=7))
    app = create_app(state)          # serve with interlock.sandbox.server.SandboxServer
    state.subscriptions.subscribe("http://hub/cdc", "/data/OpportunityChangeEvent")
    state.win(deals["D0001"])        # a rep closes a deal; the hub gets a change event
"""

from interlock.sandbox.salesforce.app import create_app
from interlock.sandbox.salesforce.cdc import ALL_CHANNEL
from interlock.sandbox.salesforce.errors import ApiError
from interlock.sandbox.salesforce.seed import BILLING_TYPES, SEGMENTS, seed_from_firm
from interlock.sandbox.salesforce.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SalesforceState,
)

__all__ = [
    "ALL_CHANNEL",
    "BILLING_TYPES",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "SEGMENTS",
    "ApiError",
    "SalesforceState",
    "create_app",
    "seed_from_firm",
]
