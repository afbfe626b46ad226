"""Writing a canonical assignment: a workspace allocation, plus a story assignment.

Idempotent like the workspace code: the allocation is found by Interlock's external
reference, else by the marker in its notes (an earlier attempt that failed before the
reference was registered), and only then created. The workspace resource of the person and
the story assignment are found by their natural keys (workspace + user, story + assignee)
before they are created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from interlock.connectors.base import UpsertResult
from interlock.connectors.http import expect
from interlock.connectors.kantata import staffing, wire
from interlock.connectors.kantata.mapping import TASK, canonical_ref, carries_marker
from interlock.model import Assignment

if TYPE_CHECKING:
    from interlock.connectors.kantata.client import KantataConnector

Record = dict[str, Any]


def _by_id(record: Record) -> int:
    return int(record["id"]) if str(record["id"]).isdigit() else 0


class AllocationSync:
    """Upserts one assignment into the workspace ``refs["project"]``."""

    def __init__(self, connector: KantataConnector) -> None:
        self.connector = connector

    def upsert(self, assignment: Assignment, refs: Mapping[str, str]) -> UpsertResult:
        """Create or update the allocation (and story assignment) of ``assignment``.

        Refs: ``project`` (workspace id) and ``person`` (user id; ``employee`` is accepted
        too) are required, ``task`` (story id) is optional.
        """
        workspace_id = _required(refs, "project")
        user_id = refs.get("person") or refs.get("employee") or _required(refs, "person")
        resource = self._resource(workspace_id, user_id)
        hard = self.connector.config.hard_allocations
        desired = staffing.allocation_fields(assignment, str(resource["id"]), hard=hard)
        found = self.find(assignment.id)
        created, own = False, list[Record]()
        if found is None:
            allocation = self._orphan(workspace_id, assignment.id)
            if allocation is None:
                new = staffing.new_allocation(assignment, str(resource["id"]), hard=hard)
                made = self.connector.call(
                    "POST", "workspace_allocations", json={"workspace_allocation": new}
                )
                allocation = self._one(made)
            created = True
            self._register(allocation, staffing.ASSIGNMENT, assignment.id)
        else:
            allocation, own = found
        changed = staffing.allocation_changes(allocation, desired)
        if changed:
            body = {"workspace_allocation": changed}
            path = f"workspace_allocations/{allocation['id']}"
            allocation = self._one(self.connector.call("PUT", path, json=body))
        service = self.connector.service_name
        if assignment.task_id and canonical_ref(own, service, TASK) != assignment.task_id:
            self._register(allocation, TASK, assignment.task_id)
        if refs.get("task"):
            self._assign(str(refs["task"]), user_id, desired["minutes"])
        return UpsertResult(native_id=str(allocation["id"]), created=created)

    def find(self, canonical: str) -> tuple[Record, list[Record]] | None:
        """The allocation Interlock wrote for ``canonical`` and its references, or None."""
        allocations, side = self.connector.list_all(
            "workspace_allocations",
            {
                "external_reference_service_name": self.connector.service_name,
                "external_reference_service_model": staffing.ASSIGNMENT,
                "external_reference_service_model_refs": canonical,
                "include": "external_references",
            },
            "workspace_allocations",
        )
        if not allocations:
            return None
        oldest = min(allocations, key=_by_id)
        return oldest, self.connector.references_in(side, oldest)

    def _orphan(self, workspace_id: str, canonical: str) -> Record | None:
        allocations, _ = self.connector.list_all(
            "workspace_allocations", {"workspace_id": workspace_id}, "workspace_allocations"
        )
        mine = [
            a for a in allocations if carries_marker({"description": a.get("notes")}, canonical)
        ]
        return min(mine, key=_by_id) if mine else None

    def _resource(self, workspace_id: str, user_id: str) -> Record:
        """The person's named resource on the workspace, created when there is none."""
        resources, _ = self.connector.list_all(
            "workspace_resources",
            {"workspace_id": workspace_id, "user_id": user_id},
            "workspace_resources",
        )
        if resources:
            return min(resources, key=_by_id)
        body = {"workspace_resource": {"workspace_id": workspace_id, "user_id": user_id}}
        made = self.connector.call("POST", "workspace_resources", json=body)
        return self._one(made, "workspace_resources")

    def _assign(self, story_id: str, user_id: str, minutes: int) -> None:
        """Put the person on the story, with the allocation's minutes."""
        found, _ = self.connector.list_all(
            "assignments",
            {"story_id": story_id, "assignee_id": user_id, "current": "true"},
            "assignments",
        )
        if not found:
            body = {
                "assignment": {
                    "story_id": story_id,
                    "assignee_id": user_id,
                    "allocated_minutes": minutes,
                }
            }
            self.connector.call("POST", "assignments", json=body)
            return
        current = min(found, key=_by_id)
        if current.get("allocated_minutes") != minutes:
            body = {"assignment": {"allocated_minutes": minutes}}
            self.connector.call("PUT", f"assignments/{current['id']}", json=body)

    def _register(self, allocation: Record, model: str, canonical: str) -> None:
        self.connector.register("WorkspaceAllocation", str(allocation["id"]), model, canonical)

    def _one(self, body: Any, key: str = "workspace_allocations") -> Record:
        found = wire.records(self.connector.system, body, key)
        expect(self.connector.system, len(found) == 1, f"expected one of {key}, got {len(found)}")
        return found[0]


def _required(refs: Mapping[str, str], key: str) -> str:
    value = refs.get(key)
    if not value:
        raise ValueError(f"kantata assignment upsert needs refs[{key!r}] (a Kantata id)")
    return str(value)
