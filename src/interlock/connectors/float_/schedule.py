"""Writing the schedule: staffing demand on placeholder people, assignments on real ones.

One ``Schedule`` serves one ``upsert``/``upsert_many`` call: it lists the tasks of each
project and the placeholder people once, and keeps what it creates in those lists, so a
batch costs a few reads plus one write per task that is new or changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from interlock.connectors.base import UpsertResult
from interlock.connectors.float_ import mapping
from interlock.model import Assignment, StaffingDemand

Record = dict[str, Any]


class Api(Protocol):
    """The connector calls the writer needs."""

    def list_all(self, path: str, params: Mapping[str, str]) -> list[Record]:
        """Every record of a list request."""

    def send(self, method: str, path: str, body: Record | None = None) -> Record:
        """One write; the record Float answers with."""


def ref(refs: Mapping[str, str] | None, kind: str, *names: str) -> str:
    """The first of ``names`` in ``refs``, a Float id, or ValueError (a programming error)."""
    for name in names:
        value = (refs or {}).get(name)
        if value and str(value).isdigit():
            return str(value)
    raise ValueError(f"upsert({kind!r}) needs refs[{names[0]!r}]: the Float id of the {names[0]}")


class Schedule:
    """Task look-ups and writes for one batch."""

    def __init__(self, api: Api, day_hours: Decimal) -> None:
        self.api = api
        self.day_hours = day_hours
        self._tasks: dict[str, list[Record]] = {}
        self._placeholders: dict[str, int] | None = None

    def tasks(self, project_id: str) -> list[Record]:
        """The project's tasks, listed once per batch."""
        if project_id not in self._tasks:
            self._tasks[project_id] = self.api.list_all("tasks", {"project_id": project_id})
        return self._tasks[project_id]

    def placeholder(self, role: str) -> int:
        """The id of the role's placeholder person, created when there is none.

        Its name is its marker: a create whose answer was lost is found by name next time.
        When there are several (made by hand), the oldest is used.
        """
        if self._placeholders is None:
            people = self.api.list_all("people", {"fields": "people_id,name,people_type_id"})
            self._placeholders = {}
            for person in sorted(people, key=lambda p: int(p["people_id"]), reverse=True):
                if person.get("people_type_id") == mapping.PLACEHOLDER_TYPE:
                    self._placeholders[str(person.get("name"))] = int(person["people_id"])
        name = mapping.placeholder_name(role)
        if name not in self._placeholders:
            made = self.api.send("POST", "people", mapping.new_placeholder(role))
            self._placeholders[name] = int(made["people_id"])
        return self._placeholders[name]

    def demand(self, demand: StaffingDemand, refs: Mapping[str, str] | None) -> UpsertResult:
        """Upsert the placeholder tasks of a demand; surplus splits are deleted."""
        project_id = ref(refs, "staffing_demand", "project")
        slots, hours = mapping.demand_split(demand, self.day_hours)
        person = self.placeholder(demand.role)
        mine = self._marked(project_id, "staffing_demand", demand.id)
        ids: dict[int, str] = {}
        created = False
        for slot in range(1, slots + 1):
            desired = mapping.demand_task(demand, project_id, person, hours, slot)
            task_id, made = self._put(project_id, mine.get(slot), desired)
            ids[slot] = task_id
            created = created or (made and slot == 1)
        for slot, task in mine.items():
            if slot > slots:
                self.api.send("DELETE", f"tasks/{task['task_id']}")
                self._tasks[project_id].remove(task)
        children = {f"{demand.id}#{slot}": ids[slot] for slot in ids if slot > 1}
        return UpsertResult(native_id=ids[1], created=created, children=children)

    def assignment(self, assignment: Assignment, refs: Mapping[str, str] | None) -> UpsertResult:
        """Upsert the task of an assignment."""
        project_id = ref(refs, "assignment", "project")
        person_id = ref(refs, "assignment", "person", "employee")
        desired = mapping.assignment_task(assignment, project_id, person_id)
        current = self._marked(project_id, "assignment", assignment.id).get(1)
        task_id, created = self._put(project_id, current, desired)
        return UpsertResult(native_id=task_id, created=created)

    def _marked(self, project_id: str, kind: str, canonical: str) -> dict[int, Record]:
        """Tasks of the project carrying the marker of ``canonical``, by slot (oldest wins)."""
        found: dict[int, Record] = {}
        for task in sorted(self.tasks(project_id), key=lambda t: int(t["task_id"])):
            mark = mapping.read_marker(task.get("notes"))
            if mark is not None and mark[:2] == (kind, canonical):
                found.setdefault(mark[2], task)
        return found

    def _put(self, project_id: str, current: Record | None, desired: Record) -> tuple[str, bool]:
        if current is None:
            made = self.api.send("POST", "tasks", desired)
            self.tasks(project_id).append(made)
            return str(made["task_id"]), True
        changed = mapping.changes(current, desired)
        if changed:
            updated = self.api.send("PATCH", f"tasks/{current['task_id']}", changed)
            current.update(updated)
        return str(current["task_id"]), False
