"""Fill a Float sandbox from a generated firm."""

from __future__ import annotations

from interlock.sandbox.firm import ROLES, Firm
from interlock.sandbox.float_.state import FloatState


def seed_from_firm(state: FloatState, firm: Firm) -> None:
    """A department per practice and one employee per consultant.

    The email is the person's identity across systems; ``job_title`` is the consultant's role,
    ``tags`` their skills and ``default_hourly_rate`` the role's list bill rate. Projects are
    not seeded: in the demo they arrive from won deals through Interlock.
    """
    departments = {
        practice.id: state.create("departments", {"name": practice.name})["department_id"]
        for practice in firm.practices
    }
    for consultant in firm.consultants:
        state.create(
            "people",
            {
                "name": consultant.name,
                "email": consultant.email,
                "job_title": consultant.role,
                "department_id": departments.get(consultant.practice_id),
                "people_type_id": 1,
                "employee_type": 1,
                "tags": list(consultant.skills),
                "default_hourly_rate": str(ROLES[consultant.role][1]),
            },
        )
