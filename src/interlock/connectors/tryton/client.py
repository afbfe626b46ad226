"""The Tryton connector: ERP, PSA or both, over JSON-RPC.

Tryton has no external ids, so every record we create carries a marker
(``[interlock:<kind>:<canonical id>]``, see ``mapping``) in a searchable field, and every
create is preceded by a look-up of that marker: a replay finds what the first run made.

Own writes: Interlock should log in as a Tryton user of its own. A change whose last
writer is that user is ours: ``is_own_change`` says so (ingestion drops and counts it), or
``read_changes`` leaves it out (``skip_own_writes``). The rule holds across processes and
restarts. Its limit:
if a person edits a record and we write it again before the next poll, the record reads
as ours (we only write values that differ, which keeps that window small).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pydantic import BaseModel

from interlock.connectors.base import ChangePage, Connector, NativeChange, UpsertResult
from interlock.connectors.tryton import (
    mapping,
    parties,
    project_changes,
    projects,
    time_changes,
    timesheets,
)
from interlock.connectors.tryton.changes import Cursor
from interlock.connectors.tryton.company import Company, load_company
from interlock.connectors.tryton.config import TrytonConfig
from interlock.connectors.tryton.invoicing import ProjectInvoice, invoice_project
from interlock.connectors.tryton.rpc import TrytonRpc
from interlock.exceptions import (
    ConfigError,
    ContractViolation,
    FieldProblem,
    RecordNotFound,
    RecordRejected,
)
from interlock.model import Assignment, Consultant, Customer, Project, TimeEntry


def _ref(refs: Mapping[str, str] | None, name: str, kind: str) -> int:
    value = (refs or {}).get(name)
    if not value or not str(value).isdigit():
        raise ValueError(f"upsert({kind!r}) needs refs[{name!r}]: the Tryton id of the {name}")
    return int(value)


class TrytonConnector(Connector):
    """Writes customers, consultants, projects, allocations and time to Tryton 8.2.

    It also invoices projects there and reads project and task changes back.

    Args:
        system: Name of this system in the topology.
        config: Connection settings.
    """

    type = "tryton"
    kinds = frozenset({"customer", "consultant", "project", "assignment", "time_entry", "invoice"})

    def __init__(self, system: str, config: TrytonConfig) -> None:
        super().__init__(system)
        self.config = config
        self.rpc = TrytonRpc(
            system,
            config.base_url,
            config.database,
            config.username,
            config.password,
            language=config.language,
            timeout=config.timeout_seconds,
            limits=config,
        )
        self._company: Company | None = None
        self._works = timesheets.TimesheetWorks(self.rpc)

    @property
    def company(self) -> Company:
        """The company we work in, read on first use."""
        if self._company is None:
            self._company = load_company(self.rpc, self.config)
        return self._company

    def authenticate(self) -> None:
        """Log in now and read the company set-up."""
        self.rpc.login()
        self._company = load_company(self.rpc, self.config)

    # -- writes ------------------------------------------------------------------------------

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        """Create or update a record by its canonical id (see ``mapping`` for the markers).

        Refs: ``project`` takes an optional ``customer`` (party id; else the customer is
        looked up by its marker); ``assignment`` needs ``task`` (or ``project``) and
        ``employee``; ``time_entry`` needs ``task`` and ``employee``.
        """
        if kind == "customer" and isinstance(record, Customer):
            return parties.upsert_customer(self.rpc, record)
        if kind == "consultant" and isinstance(record, Consultant):
            return parties.upsert_consultant(
                self.rpc, self.company, record, self.config.cost_prices_from
            )
        if kind == "project" and isinstance(record, Project):
            party = (refs or {}).get("customer")
            found = (
                int(party)
                if party
                else parties.find_party(self.rpc, "customer", record.customer_id)
            )
            return projects.upsert_project(self.rpc, self.company, record, found)
        if kind == "assignment" and isinstance(record, Assignment):
            work = _ref(refs, "task" if (refs or {}).get("task") else "project", kind)
            employee = _ref(refs, "employee", kind)
            return projects.upsert_allocation(self.rpc, self.company, record, work, employee)
        if kind == "time_entry" and isinstance(record, TimeEntry):
            task, employee = self._task_of(record, refs), _ref(refs, "employee", kind)
            return timesheets.upsert_line(
                self.rpc, self.company, self._works, record, task, employee
            )
        raise NotImplementedError(f"tryton does not write {kind} ({type(record).__name__})")

    def upsert_many(
        self, kind: str, items: Sequence[tuple[BaseModel, Mapping[str, str]]]
    ) -> list[UpsertResult]:
        """Time entries in one batch (see ``post_time_entries``); other kinds one by one."""
        if kind != "time_entry":
            return super().upsert_many(kind, items)
        batch: list[tuple[TimeEntry, int, int]] = []
        for record, refs in items:
            if not isinstance(record, TimeEntry):
                raise NotImplementedError(f"tryton does not write {kind} ({type(record).__name__})")
            batch.append((record, self._task_of(record, refs), _ref(refs, "employee", kind)))
        results = timesheets.post_lines(self.rpc, self.company, self._works, batch)
        return [results[entry.id] for entry, _, _ in batch]

    def _task_of(self, entry: TimeEntry, refs: Mapping[str, str] | None) -> int:
        if not (refs or {}).get("task"):
            raise RecordRejected(
                self.system,
                f"time entry {entry.id}: Tryton books time on tasks, and this entry has none "
                "(or its task is not in Tryton)",
                fields=("task_id",),
            )
        return _ref(refs, "task", "time_entry")

    def post_time_entries(self, entries: Sequence[tuple[TimeEntry, int, int]]) -> dict[str, str]:
        """Post (entry, task work id, employee id) triples; canonical id → line id.

        One search finds the lines already posted and one create call adds the others.
        """
        results = timesheets.post_lines(self.rpc, self.company, self._works, entries)
        return {cid: result.native_id for cid, result in results.items()}

    def invoice_project(
        self, project: int | str, up_to: dt.date | None = None
    ) -> ProjectInvoice | None:
        """Invoice what is due on the project (its work id) in Tryton and post it.

        ``up_to`` limits timesheet billing to time worked up to that day (the end of the
        billing period); it stays set on the project as its "Invoice up to" date. See
        ``invoicing`` for what a repeat returns.
        """
        if not str(project).isdigit():
            raise RecordNotFound(self.system, f"{project!r} is not a Tryton project id")
        return invoice_project(self.rpc, int(project), up_to)

    def find(self, kind: str, canonical_id: str) -> str | None:
        """The Tryton id of the record we wrote for ``canonical_id``.

        Kinds: customer (party), consultant (employee), project, task (project.work),
        time_entry (timesheet.line).
        """
        found: int | None
        if kind == "customer":
            found = parties.find_party(self.rpc, "customer", canonical_id)
        elif kind == "consultant":
            found = parties.find_employee(self.rpc, self.company, canonical_id)
        elif kind in ("project", "task"):
            found = projects.find_work(self.rpc, kind, canonical_id)
        elif kind == "time_entry":
            found = timesheets.find_line(self.rpc, canonical_id)
        else:
            raise NotImplementedError(f"tryton cannot look up {kind} by canonical id")
        return None if found is None else str(found)

    # -- reads -------------------------------------------------------------------------------

    def read_changes(self, kind: str, cursor: str | None, limit: int = 200) -> ChangePage:
        """Changes after ``cursor``, oldest first: ``project`` or ``time_entry``.

        ``project``: projects and tasks (kinds ``project`` and ``task``), then deletes.
        ``time_entry``: timesheet lines (see ``time_changes``). Our own writes are included
        (and told apart by ``is_own_change``) unless ``skip_own_writes`` leaves them out.
        """
        if kind not in ("project", "time_entry"):
            raise NotImplementedError(f"tryton does not read {kind} changes")
        try:
            position = Cursor.load(cursor)
        except ValueError as exc:
            raise ConfigError("change cursor", f"{self.system}.{kind}", str(exc)) from None
        if kind == "time_entry":
            return time_changes.read(
                self.rpc,
                position,
                max(1, limit),
                overlap=self.config.poll_overlap_seconds,
                skip_own=self.config.skip_own_writes,
            )
        return project_changes.read(
            self.rpc,
            position,
            max(1, limit),
            overlap=self.config.poll_overlap_seconds,
            currency=self.company.currency,
            skip_own=self.config.skip_own_writes,
        )

    def classify(self, change: NativeChange) -> str:
        """``approved`` for timesheet lines (Tryton has no approval step), else as usual."""
        if change.kind == "time_entry" and not change.deleted:
            return "approved"
        return super().classify(change)

    def is_own_change(self, change: NativeChange) -> bool:
        """True when our Tryton user made the change (see the module docstring)."""
        if self.rpc.user_id is None:
            self.rpc.login()
        return project_changes.own_write(change.payload, self.rpc.user_id)

    def get(self, kind: str, native_id: str) -> NativeChange:
        """The current project or task, as a change. Raises RecordNotFound."""
        if kind not in ("project", "task") or not native_id.isdigit():
            raise NotImplementedError(f"tryton cannot read {kind} by id")
        return project_changes.current(self.rpc, int(native_id), kind, self.company.currency)

    def to_canonical(self, change: NativeChange) -> BaseModel:
        """The canonical project (with its tasks), task or time entry of a change."""
        if change.deleted:
            problem = FieldProblem("id", "the record was deleted in Tryton")
            raise ContractViolation(f"Tryton {change.kind} {change.native_id}", [problem])
        if change.kind == "project":
            return mapping.project_from_native(change.payload, self.system)
        if change.kind == "task":
            return mapping.task_from_native(change.payload, self.system)
        if change.kind == "time_entry":
            return mapping.time_entry_from_native(change.payload, self.system)
        raise NotImplementedError(f"tryton does not map {change.kind}")

    def close(self) -> None:
        """Close the connections."""
        self.rpc.close()
