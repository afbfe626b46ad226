"""Seed the emulated account from a generated firm: one employee per consultant.

Customers and projects are not seeded: the hub creates them in NetSuite.
"""

from __future__ import annotations

from interlock.sandbox.firm import Firm
from interlock.sandbox.netsuite.state import NetSuiteState

SUBSIDIARY_ID = "1"


def seed_from_firm(state: NetSuiteState, firm: Firm) -> None:
    """Create an employee (``externalId`` = consultant id) for every consultant of ``firm``."""
    for person in firm.consultants:
        first, _, last = person.name.partition(" ")
        state.upsert(
            "employee",
            person.id,
            {
                "firstName": first,
                "lastName": last or first,
                "email": person.email,
                "title": person.role,
                "laborCost": float(person.cost_rate),
                "subsidiary": {"id": SUBSIDIARY_ID},
                "isJobResource": True,
            },
        )
