"""Fill a Kantata sandbox from a generated firm."""

from __future__ import annotations

from interlock.sandbox.firm import Firm
from interlock.sandbox.kantata.state import KantataState


def seed_from_firm(state: KantataState, firm: Firm) -> None:
    """One Kantata user per consultant; ``headline`` carries the consultant's role.

    Projects are not seeded: in the demo they arrive from won deals through Interlock.
    """
    for consultant in firm.consultants:
        state.add_user(consultant.name, consultant.email, consultant.role)
