"""Changes people make to projects and tasks in the PSA → the canonical store.

The PSA owns delivery: a project's name and status, and the tasks' names and budget hours
(and which tasks there are). Those values, read back from the PSA, update the canonical
project. The values the contract owns (customer, dates, billing type, a task's rate, role and
billing type) are kept: a PSA change that differs there is an ownership violation, counted
(``ownership_violations``) and listed in the run's output, never applied. A project the hub
has not seen (made by a person in the PSA) is stored as read.

Our own writes never get here: ingestion drops them as echoes. Each version of a record is
one run, so a replayed change is a duplicate and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from interlock.connectors.base import Connector
from interlock.engine.flow import Decision, Flow, Step, StepContext
from interlock.engine.ingest import native_change
from interlock.events import CloudEvent, event_type
from interlock.model import Project, ProjectStatus, Task
from interlock.store import counters, records

_PROJECT_CONTRACT = ("customer_id", "start_date", "end_date", "billing_type")
_TASK_CONTRACT = ("rate", "role", "billing_type")


def merge_task(stored: Task, read: Task, path: str) -> tuple[Task, list[str], list[str]]:
    """``stored`` with the PSA's values of ``read``: (task, changed fields, violations)."""
    update: dict[str, Any] = {}
    if read.name != stored.name:
        update["name"] = read.name
    if read.budget_hours is not None and read.budget_hours != stored.budget_hours:
        update["budget_hours"] = read.budget_hours
    violations = [
        f"{path}.{name}"
        for name in _TASK_CONTRACT
        if getattr(read, name) is not None and getattr(read, name) != getattr(stored, name)
    ]
    changed = [f"{path}.{name}" for name in update]
    return stored.model_copy(update=update), changed, violations


def merge_project(stored: Project, read: Project) -> tuple[Project, list[str], list[str]]:
    """``stored`` with the PSA's values of ``read``: (project, changed fields, violations)."""
    update: dict[str, Any] = {}
    if read.name != stored.name:
        update["name"] = read.name
    # The PSA knows open and closed only: it says nothing about setting up or on hold.
    closing = read.status is ProjectStatus.CLOSED
    if read.status != stored.status and (closing or stored.status is ProjectStatus.CLOSED):
        update["status"] = read.status
    violations = [
        name for name in _PROJECT_CONTRACT if getattr(read, name) != getattr(stored, name)
    ]
    changed = list(update)
    known = {t.id: t for t in read.tasks}
    tasks: list[Task] = []
    for index, task in enumerate(stored.tasks):
        if task.id in known:
            task, task_changed, task_violations = merge_task(task, known[task.id], f"tasks.{index}")
            changed += task_changed
            violations += task_violations
        tasks.append(task)
    added = [t for t in read.tasks if t.id not in {s.id for s in stored.tasks}]
    changed += [f"tasks.{t.id}" for t in added]
    if tasks != list(stored.tasks) or added:
        update["tasks"] = (*tasks, *added)
    return stored.model_copy(update=update), changed, violations


class ProjectChanges(Flow):
    """Record what people change on projects and tasks in the PSA."""

    name: ClassVar[str] = "project_changes"
    triggers: ClassVar[frozenset[str]] = frozenset(
        {event_type("project", "changed"), event_type("task", "changed")}
    )
    required_roles: ClassVar[tuple[str, ...]] = ("psa",)
    sources: ClassVar[tuple[tuple[str, str], ...]] = (("psa", "project"),)

    def decide(
        self,
        event: CloudEvent,
        conn: sa.Connection,
        systems: Mapping[str, Connector],
        roles: Mapping[str, str],
    ) -> Decision:
        """One run per version of a record read from the PSA."""
        if event.subject is None or event.data.get("system") != roles.get("psa"):
            return Decision.ignore("not a change read from the PSA")
        return Decision.run(f"{event.subject}@{event.id[:12]}")

    def steps(self) -> list[tuple[str, Step]]:
        """The one step."""
        return [("apply", self.apply)]

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        """Map the change and merge the PSA's values into the canonical project."""
        source = ctx.systems[str(ctx.event.data["system"])]
        record = source.to_canonical(native_change(ctx.event))
        if not isinstance(record, Project | Task):
            raise TypeError(f"{source.system} mapped a {ctx.event.type} to {type(record).__name__}")
        project_id = record.id if isinstance(record, Project) else record.project_id
        with ctx.store.transaction("recording a PSA change") as conn:
            data = records.get(conn, "project", project_id)
            if data is None:  # not ours: keep it as the PSA has it
                kind = "project" if isinstance(record, Project) else "task"
                version = records.put(conn, kind, record)
                return {"id": record.id, "kind": kind, "version": version, "new": True}
            stored = Project.model_validate(data)
            if isinstance(record, Project):
                merged, changed, violations = merge_project(stored, record)
            else:
                only = stored.model_copy(update={"tasks": (record,)})
                merged, changed, violations = merge_project(stored, only)
            version = records.put(conn, "project", merged)
            if violations:
                counters.add(conn, "ownership_violations", len(violations))
        return {
            "id": project_id,
            "kind": "project",
            "version": version,
            "changed": changed,
            "not_owned": violations,
        }
