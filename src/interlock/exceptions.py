"""Every error Interlock raises, under one root.

The engine decides what to do with a failure from the exception's *type and fields*, never
from its message text::

    InterlockError
    ├── ConfigError                 bad settings or topology file; names file, key and rule
    ├── ContractViolation           input breaks a canonical contract; lists FieldProblem items
    ├── StoreError                  the database failed (driver errors are wrapped here)
    ├── FlowError                   a flow cannot go on
    │   ├── BusinessRuleViolation   a business rule refuses the work (final)
    │   └── DependencyNotReady      something this work needs is not there yet (retryable)
    └── ConnectorError              an external system failed; carries ``system``
        ├── ConnectorUnavailable    timeout, connection failure, 5xx (retryable)
        │   └── OutcomeUnknown      a write may or may not have happened (check before retry)
        ├── RateLimited             429 / quota exhausted (retryable, ``retry_after``)
        ├── AuthenticationFailed    credentials refused (final)
        ├── RecordNotFound          the record does not exist (final)
        ├── RecordRejected          the vendor refused the record, e.g. validation (final)
        └── MalformedResponse       the vendor answered something we cannot read (final)

Every error has ``retryable`` and ``team`` (who has to act when it ends in the exception
queue). Messages never contain secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Team(StrEnum):
    """The team that owns an exception and has to act on it."""

    SALES_OPS = "sales_ops"
    PMO = "pmo"
    RESOURCING = "resourcing"
    FINANCE = "finance"
    INTEGRATION = "integration"


class InterlockError(Exception):
    """Root of every Interlock error."""

    retryable: bool = False
    team: Team = Team.INTEGRATION

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(InterlockError):
    """Configuration is invalid. Raised at start, before any work is done."""

    def __init__(self, source: str, key: str, rule: str) -> None:
        super().__init__(f"{source}: {key}: {rule}")
        self.source = source
        self.key = key
        self.rule = rule


@dataclass(frozen=True)
class FieldProblem:
    """One broken rule on one field: ``field`` is a dotted path, ``rule`` says what is wrong."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class ContractViolation(InterlockError):
    """Input does not satisfy a canonical contract or the flow's entry rules. Final."""

    def __init__(self, subject: str, problems: list[FieldProblem], team: Team | None = None):
        listed = "; ".join(str(p) for p in problems)
        super().__init__(f"{subject} is invalid: {listed}")
        self.subject = subject
        self.problems = problems
        if team is not None:
            self.team = team


class StoreError(InterlockError):
    """The database failed. Retryable: most causes (lock timeout, lost connection) pass."""

    retryable = True


class FlowError(InterlockError):
    """A flow cannot go on."""


class BusinessRuleViolation(FlowError):
    """A business rule refuses the work; retrying will not change the answer."""

    def __init__(self, message: str, team: Team = Team.PMO) -> None:
        super().__init__(message)
        self.team = team


class DependencyNotReady(FlowError):
    """Work arrived before what it depends on (time for a project still being set up)."""

    retryable = True

    def __init__(self, message: str, team: Team = Team.PMO) -> None:
        super().__init__(message)
        self.team = team


class ConnectorError(InterlockError):
    """An external system failed.

    Args:
        system: Name of the connected system as in the topology (``salesforce``, ...).
        message: What happened, without secrets.
        status: HTTP status, when there was a response.
        code: The vendor's own error code, when it sent one.
    """

    def __init__(
        self, system: str, message: str, *, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system
        self.status = status
        self.code = code


class ConnectorUnavailable(ConnectorError):
    """Timeout, refused connection or a 5xx. Retryable."""

    retryable = True


class OutcomeUnknown(ConnectorUnavailable):
    """A write was sent but no answer came: look the record up before sending it again."""


class RateLimited(ConnectorError):
    """The vendor asks us to slow down. Retryable after ``retry_after`` seconds."""

    retryable = True

    def __init__(
        self,
        system: str,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(system, message, status=status, code=code)
        self.retry_after = retry_after


class AuthenticationFailed(ConnectorError):
    """Credentials were refused. Final until someone fixes the configuration."""


class RecordNotFound(ConnectorError):
    """The record asked for does not exist."""


class RecordRejected(ConnectorError):
    """The vendor refused the record (validation, duplicate, business rule). Final."""

    def __init__(
        self,
        system: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        fields: tuple[str, ...] = (),
    ) -> None:
        super().__init__(system, message, status=status, code=code)
        self.fields = fields


class MalformedResponse(ConnectorError):
    """The vendor answered with something we cannot read. Final; the payload is kept."""


__all__ = [
    "AuthenticationFailed",
    "BusinessRuleViolation",
    "ConfigError",
    "ConnectorError",
    "ConnectorUnavailable",
    "ContractViolation",
    "DependencyNotReady",
    "FieldProblem",
    "FlowError",
    "InterlockError",
    "MalformedResponse",
    "OutcomeUnknown",
    "RateLimited",
    "RecordNotFound",
    "RecordRejected",
    "StoreError",
    "Team",
]
