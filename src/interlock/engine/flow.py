"""What a flow is: a trigger, a business key, and ordered durable steps.

A flow is a plain class registered explicitly (``Engine(flows=[Mobilize(...)])``). Each step
receives one ``StepContext`` and returns a JSON-able dict, which the engine stores before the
next step starts. A restarted worker skips the steps already stored and feeds their outputs to
the later ones. Steps must therefore be idempotent in their effects: a step whose output was
not stored will run again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import BaseModel

from interlock.connectors.base import Connector
from interlock.engine.retry import RetryPolicy
from interlock.events import CloudEvent
from interlock.quota import Priority
from interlock.store import Store, fingerprints


@dataclass(frozen=True)
class Decision:
    """What a flow wants done with an event: start a run for ``key``, or ignore, and why."""

    key: str | None
    reason: str

    @staticmethod
    def run(key: str, reason: str = "accepted") -> Decision:
        """Start (or continue) a run for ``key``."""
        return Decision(key, reason)

    @staticmethod
    def ignore(reason: str) -> Decision:
        """Do nothing with this event, for ``reason``."""
        return Decision(None, reason)


@dataclass
class StepContext:
    """Everything a step may use. One instance per step execution.

    Attributes:
        run_id: Id of the run.
        business_key: The key the run is about.
        event: The event that started (or last restarted) the run.
        outputs: Outputs of the steps already done, by step name.
        store: The database; use ``store.transaction()`` for short writes.
        systems: Connected systems by topology name.
        roles: Topology name of the system playing each role (``{"crm": "salesforce"}``).
        started_at: When the run started.
        attempt: 1 for the first try of this step.

    A step reports business metrics by returning them under the ``metrics`` key of its
    output; the engine stores them on the run when it succeeds.
    """

    run_id: str
    business_key: str
    event: CloudEvent
    outputs: dict[str, dict[str, Any]]
    store: Store
    systems: Mapping[str, Connector]
    roles: Mapping[str, str]
    started_at: dt.datetime
    attempt: int = 1
    outcome_unknown: bool = False
    """The previous attempt of this step may have written before it failed (a timeout)."""

    def system(self, role: str) -> Connector:
        """The connector of the system in ``role``."""
        return self.systems[self.roles[role]]

    def system_name(self, role: str) -> str:
        """Topology name of the system in ``role``."""
        return self.roles[role]

    def caused(self, type_: str, data: dict[str, Any], subject: str) -> dict[str, Any]:
        """A canonical event caused by this run's event, for a step's ``emit`` list.

        Events a step returns under ``emit`` are written to the outbox in the same
        transaction that records the step.
        """
        return self.event.caused(type_, data, subject=subject).to_json()

    def remember_write(self, role: str, kind: str, record: BaseModel, native_id: str) -> None:
        """Record the fingerprint of what we wrote, so its echo is dropped on the way back."""
        self.remember_writes(role, kind, [(record, native_id)])

    def remember_writes(
        self,
        role: str,
        kind: str,
        written: Sequence[tuple[BaseModel, str]],
        conn: sa.Connection | None = None,
    ) -> None:
        """``remember_write`` for many records, in one transaction (``conn``'s, if given)."""
        connector = self.system(role)
        found = [(native, connector.fingerprint(kind, record)) for record, native in written]
        items = [(native, print_) for native, print_ in found if print_ is not None]
        if not items:
            return
        if conn is not None:
            fingerprints.remember_many(conn, connector.system, kind, items)
            return
        with self.store.transaction("remembering writes") as own:
            fingerprints.remember_many(own, connector.system, kind, items)


Step = Callable[[StepContext], dict[str, Any]]
BatchStep = Callable[[Sequence[StepContext]], list[dict[str, Any] | BaseException]]
"""A step for many runs at once: one outcome per context, in order (an output or an error)."""


class Flow:
    """Base class of flows.

    Subclasses set ``name``, ``triggers`` (event types), ``required_roles``, ``sources`` and
    implement ``steps`` and ``decide``.
    """

    name: ClassVar[str]
    triggers: ClassVar[frozenset[str]]
    required_roles: ClassVar[tuple[str, ...]] = ()
    sources: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(role, kind) pairs whose changes this flow needs polled."""
    priority: ClassVar[Priority] = Priority.DEFAULT
    """Priority of this flow's requests when a vendor budget is scarce (invoices, time first)."""
    blocks: ClassVar[tuple[str, ...]] = ()
    """Flows held for the business key while a run of this flow is failed."""
    retry_policies: ClassVar[Mapping[str, RetryPolicy]] = {}
    """Per-step retry policies; steps not named use the engine's policy."""

    def lookups(self) -> Mapping[str, Step]:
        """Per-step look-ups run before a step is retried after an unknown outcome.

        A look-up returns the step's output when the write is found in the target (it is
        then recorded without being sent again), or an empty dict when it is not.
        """
        return {}

    def batch_steps(self) -> Mapping[str, BatchStep]:
        """Steps that can run for many runs in one call (a vendor batch API, pipelined HTTP).

        When several claimed runs of this flow are at the same step and it is named here, the
        engine calls the batch version once with their contexts. The result is positional: a
        dict is that run's output, an exception instance is that run's failure, classified as
        if the step had raised it. If the call itself raises, every run in it fails with that
        error. Runs retrying after an unknown outcome use the single step and its look-up.
        """
        return {}

    def wants(self, event_type: str) -> bool:
        """Whether events of ``event_type`` go to this flow (default: it is in ``triggers``)."""
        return event_type in self.triggers

    def hold_keys(self, event: CloudEvent, key: str, systems: Mapping[str, Connector]) -> list[str]:
        """The keys whose holds block this flow for ``event`` (default: its business key)."""
        return [key]

    def holds_on_failure(
        self, business_key: str, outputs: Mapping[str, Mapping[str, Any]]
    ) -> list[tuple[str, tuple[str, ...]]]:
        """Holds to place when a run fails finally: (key, blocked flows) pairs."""
        return [(business_key, self.blocks)] if self.blocks else []

    def holds_for(self, ctx: StepContext) -> list[tuple[str, tuple[str, ...]]]:
        """Holds to place when ``ctx``'s run fails finally (default: ``holds_on_failure``)."""
        return self.holds_on_failure(ctx.business_key, ctx.outputs)

    def check_payload(
        self, payload: dict[str, Any], event: CloudEvent, systems: Mapping[str, Connector]
    ) -> None:
        """Validate an edited payload before "edit and retry"; raise ContractViolation."""

    def steps(self) -> list[tuple[str, Step]]:
        """The ordered steps: (name, callable). Names are stable: they are stored."""
        raise NotImplementedError

    def decide(
        self,
        event: CloudEvent,
        conn: sa.Connection,
        systems: Mapping[str, Connector],
        roles: Mapping[str, str],
    ) -> Decision:
        """Whether ``event`` starts a run, and for which business key."""
        raise NotImplementedError
