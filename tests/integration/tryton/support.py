"""Types and helpers shared by the Tryton tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from interlock.connectors.tryton import TrytonConfig, TrytonConnector, TrytonRpc
from interlock.connectors.tryton.server import TrytonDatabase, TrytonServer
from interlock.model import (
    ApprovalState,
    Assignment,
    Consultant,
    Customer,
    NonNegativeMoney,
    Project,
    TimeEntry,
)


@dataclass
class TrytonEnv:
    """A running Tryton with our connector and an admin session playing "a person"."""

    server: TrytonServer
    database: TrytonDatabase
    connector: TrytonConnector
    person: TrytonRpc
    config: TrytonConfig

    def count(self, model: str) -> int:
        """Records of ``model`` (read as the admin)."""
        return int(self.person.call(f"model.{model}.search_count", []))

    def stamps(self, model: str) -> dict[int, object]:
        """Record id → last modification stamp, for every record of ``model``."""
        rows = self.person.search_read(model, [], ["last_modified_at"])
        return {int(r["id"]): r["last_modified_at"] for r in rows}


# -- a won deal, in canonical form ------------------------------------------------------------


def usd(amount: str) -> NonNegativeMoney:
    return NonNegativeMoney(amount=Decimal(amount), currency="USD")


@dataclass(frozen=True)
class Deal:
    """What a won deal becomes: customer, consultants, project with tasks, assignments."""

    customer: Customer
    consultants: tuple[Consultant, ...]
    project: Project
    assignments: tuple[Assignment, ...]
    suffix: str = ""
    """Ends every id, so several deals can share one Tryton."""

    def base(self, cid: str) -> str:
        """The id without the suffix (``task_arch``)."""
        return cid.removesuffix(self.suffix)

    def time(self, days: int, hours: str = "7.5") -> list[TimeEntry]:
        """Approved time: each consultant on their assigned task, ``days`` days in March."""
        return [
            TimeEntry(
                id=f"te-{a.id}-{day}",
                project_id=self.project.id,
                task_id=a.task_id,
                consultant_id=a.consultant_id,
                date=dt.date(dt.datetime.now(dt.UTC).year, 3, 2) + dt.timedelta(days=day),
                hours=Decimal(hours),
                state=ApprovalState.APPROVED,
                description=f"Work on {a.task_id}",
            )
            for a in self.assignments
            for day in range(days)
        ]


@dataclass(frozen=True)
class Mobilised:
    """Native ids of a deal written to Tryton."""

    customer: int
    project: int
    tasks: dict[str, int]
    """Task id without the deal's suffix → work id."""
    employees: dict[str, int]
    """Consultant id without the deal's suffix → employee id."""
    suffix: str = ""


Mobilise = Callable[[Deal], Mobilised]
PostTime = Callable[[Mobilised, list[TimeEntry]], dict[str, str]]
