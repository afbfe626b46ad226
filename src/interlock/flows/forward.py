"""Canonical events → a subscriber's webhook, in order per record, each delivered once.

Every canonical event (``interlock.<contract>.<verb>.v<n>``) the hub journals — changes read
from the connected systems, events taken in through the API or NATS — is POSTed to the system
in the ``webhook`` role. One run per event, keyed ``event:<source> <id>`` (CloudEvents ids are
unique per source only), so two changes of one record are two deliveries, and one event taken
in twice is one. Events about the same record (its subject) are delivered in the order they
happened, because the journal releases a subject's next event only when the last one is final.

A delivery that fails finally (the subscriber refuses it, or attempts run out) becomes an
exception and holds the record's subject: its later events park instead of overtaking it, and
go out, in order, once the failed one is retried successfully or resolved.

Claimed runs are delivered as one pipelined batch (``WebhookConnector.deliver_many``), which
is what makes this flow fast: thousands of events a second from one worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa

from interlock.connectors.base import Connector
from interlock.connectors.webhook import WebhookConnector
from interlock.engine.flow import BatchStep, Decision, Flow, Step, StepContext
from interlock.events import CloudEvent
from interlock.exceptions import ConfigError
from interlock.store.schema import flow_runs

# Records the hub keeps of what it refused (a NATS body that was no event, a submitted event
# that broke its contract): journaled for people to read, not canonical events to hand on.
_NOT_FORWARDED = ("interlock.fabric.", "interlock.submit.")
_KEY_WIDTH = getattr(flow_runs.c.business_key.type, "length", None) or 120


class Forward(Flow):
    """Deliver every canonical event to the webhook subscriber."""

    name: ClassVar[str] = "forward"
    triggers: ClassVar[frozenset[str]] = frozenset()
    required_roles: ClassVar[tuple[str, ...]] = ("webhook",)
    blocks: ClassVar[tuple[str, ...]] = ("forward",)

    def wants(self, event_type: str) -> bool:
        """Every canonical event type."""
        return event_type.startswith("interlock.") and not event_type.startswith(_NOT_FORWARDED)

    def decide(
        self,
        event: CloudEvent,
        conn: sa.Connection,
        systems: Mapping[str, Connector],
        roles: Mapping[str, str],
    ) -> Decision:
        """One delivery per event."""
        return Decision.run(run_key(event))

    def hold_keys(self, event: CloudEvent, key: str, systems: Mapping[str, Connector]) -> list[str]:
        """A hold on the event's record (its subject) parks it behind the failed delivery."""
        return [key] if event.subject is None else [key, event.subject]

    def holds_for(self, ctx: StepContext) -> list[tuple[str, tuple[str, ...]]]:
        """Hold the record: its later events must not overtake the one that failed."""
        return [(ctx.event.subject or ctx.business_key, self.blocks)]

    def steps(self) -> list[tuple[str, Step]]:
        """One step: deliver."""
        return [("deliver", self.deliver)]

    def batch_steps(self) -> Mapping[str, BatchStep]:
        """Deliver many runs' events in one pipelined batch."""
        return {"deliver": self.deliver_many}

    def deliver(self, ctx: StepContext) -> dict[str, Any]:
        """POST the event to the subscriber."""
        return _webhook(ctx).deliver(ctx.event)

    def deliver_many(self, contexts: Sequence[StepContext]) -> list[dict[str, Any] | BaseException]:
        """POST many events at once; one outcome per run."""
        if not contexts:
            return []
        outcomes = _webhook(contexts[0]).deliver_many([ctx.event for ctx in contexts])
        return list(outcomes)


def run_key(event: CloudEvent) -> str:
    """The business key of ``event``'s delivery: its source and id, which make it unique.

    An id alone is not: two sources may both send "1001", and the second would be taken for a
    repeat of the first and never delivered. A key too long for the column becomes a digest.
    """
    key = f"event:{event.source} {event.id}"
    if len(key) <= _KEY_WIDTH:
        return key
    return f"event:{hashlib.sha256(key.encode()).hexdigest()}"


def _webhook(ctx: StepContext) -> WebhookConnector:
    connector = ctx.system("webhook")
    if not isinstance(connector, WebhookConnector):
        raise ConfigError(
            "topology",
            f"systems.{ctx.system_name('webhook')}.type",
            "the forward flow needs a webhook connector in the webhook role",
        )
    return connector
