"""The Kantata OX connector: projects as workspaces with stories, changes from Subscribed Events.

Kinds: ``project`` (written and read), ``assignment`` (written as a workspace allocation, read
back from allocation events), ``time_entry`` and ``expense`` (read, with their approval state).

Kantata has no idempotency key and no upsert by external id, so ``upsert`` looks before it
writes: first by the external references Interlock registers, then by the marker it writes
into descriptions. The marker closes the gap between creating a record and registering its
reference: if the second request is lost, the next attempt finds the record by its marker
and registers the reference instead of creating a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from interlock.connectors.base import ChangePage, Connector, NativeChange, UpsertResult
from interlock.connectors.http import VendorHttp, expect
from interlock.connectors.kantata import ledger, mapping, staffing, wire
from interlock.connectors.kantata.activity import RecordEvents
from interlock.connectors.kantata.allocations import AllocationSync
from interlock.connectors.kantata.auth import BearerToken
from interlock.connectors.kantata.config import KantataConfig
from interlock.connectors.kantata.events import WorkspaceEvents
from interlock.connectors.kantata.stories import StorySync
from interlock.exceptions import RateLimited
from interlock.model import Assignment, Project

Record = dict[str, Any]
API = "/api/v1"


class KantataConnector(Connector):
    """Writes projects and assignments to Kantata OX; reads projects, time and expenses back.

    Args:
        system: Name of this system in the topology.
        config: Connection settings.
    """

    type = "kantata"
    kinds = frozenset({"project", "assignment", "time_entry", "expense"})
    writes = frozenset({"project", "assignment"})

    def __init__(self, system: str, config: KantataConfig) -> None:
        super().__init__(system)
        self.config = config
        self._token = BearerToken(config.access_token)
        root = config.base_url.rstrip("/")
        self._http = VendorHttp(
            system,
            (root if root.endswith(API) else root + API) + "/",
            read_error=wire.read_error,
            timeout=config.timeout_seconds,
            limits=config,
            auth_headers=self._token.headers,
            headers={"Accept": "application/json", "User-Agent": "interlock"},
        )

    # -- plumbing ---------------------------------------------------------------------------

    def call(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        """Send one request and decode its JSON body (None for a 204)."""
        try:
            response = self._http.request(method, path, json=json, params=params)
        except RateLimited as exc:
            if exc.retry_after is not None:
                raise
            raise RateLimited(
                self.system,
                exc.message.removeprefix(f"{self.system}: "),
                status=exc.status,
                code=exc.code,
                retry_after=self.config.rate_limit_retry_seconds,
            ) from exc
        return None if response.status_code == 204 else self._http.json(response)

    def list_all(self, path: str, params: Mapping[str, Any], key: str) -> tuple[list[Record], Any]:
        """Every page of an index: the ``key`` objects and the merged side-loads."""
        found: list[Record] = []
        side: dict[str, dict[str, Record]] = {}
        page = 1
        while True:
            body = self.call(
                "GET", path, params={**params, "page": page, "per_page": self.config.per_page}
            )
            found += wire.records(self.system, body, key)
            for name, objects in body.items():
                if name not in (key, "results", "meta", "count") and isinstance(objects, dict):
                    side.setdefault(name, {}).update(wire.included(body, name))
            if page >= wire.page_count(self.system, body):
                return found, side
            page += 1

    def references_in(self, side: Any, record: Record) -> list[Record]:
        """The external references side-loaded for ``record`` that Interlock registered."""
        refs = side.get("external_references", {})
        mine = [refs.get(str(i)) for i in record.get("external_reference_ids", [])]
        return [r for r in mine if r and r.get("service_name") == self.service_name]

    @property
    def service_name(self) -> str:
        """The ``service_name`` of Interlock's external references."""
        return self.config.external_service_name

    def register(self, subject_type: str, subject_id: str, model: str, canonical: str) -> None:
        """Create or update Interlock's reference from a Kantata record to a canonical id."""
        self.call(
            "POST",
            "external_references/create_or_update",
            json={
                "external_reference": {
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "service_name": self.service_name,
                    "service_model": model,
                    "service_model_ref": canonical,
                    "status": "successful",
                }
            },
        )

    def authenticate(self) -> None:
        """Check the token now with one cheap read. Raises AuthenticationFailed."""
        self.call("GET", "users", params={"per_page": 1})

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    # -- writes -----------------------------------------------------------------------------

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        """Create or update the workspace of a project (and a story per task), or an assignment.

        Refs: a project needs none; an assignment needs ``project`` (workspace id) and
        ``person`` (user id), and takes an optional ``task`` (story id). See ``allocations``.
        """
        if kind == "assignment":
            self._kind(kind)
            expect(self.system, isinstance(record, Assignment), "upsert of assignment needs one")
            assert isinstance(record, Assignment)
            return AllocationSync(self).upsert(record, refs or {})
        project = self._project(kind, record)
        desired = mapping.workspace_fields(project)  # validates before any write
        found = self._workspaces_for([project.id])
        created = False
        if found:
            workspace, refs_now = found[0]
        else:
            orphan, refs_now = self._orphan(project), []
            if orphan is None:
                body = self.call(
                    "POST", "workspaces", json={"workspace": mapping.new_workspace(project)}
                )
                orphan = self._one(body, "workspaces")
            workspace = orphan
            created = True
            self.register("Workspace", workspace["id"], mapping.PROJECT, project.id)
        changed = mapping.changes(workspace, desired)
        if changed:
            body = self.call("PUT", f"workspaces/{workspace['id']}", json={"workspace": changed})
            workspace = self._one(body, "workspaces")
        if mapping.canonical_ref(refs_now, self.service_name, mapping.CUSTOMER) != (
            project.customer_id
        ):
            self.register("Workspace", workspace["id"], mapping.CUSTOMER, project.customer_id)
        children = StorySync(self, workspace).run([*project.tasks, *project.milestones])
        return UpsertResult(native_id=str(workspace["id"]), created=created, children=children)

    def find(self, kind: str, canonical_id: str) -> str | None:
        """Id of the workspace (project) or allocation (assignment) Interlock wrote, or None."""
        self._kind(kind, self.writes)
        if kind == "assignment":
            allocation = AllocationSync(self).find(canonical_id)
            return str(allocation[0]["id"]) if allocation else None
        found = self._workspaces_for([canonical_id])
        return str(found[0][0]["id"]) if found else None

    def _workspaces_for(self, canonical_ids: list[str]) -> list[tuple[Record, list[Record]]]:
        # Archived workspaces are hidden by default; Interlock's own must still be found.
        workspaces, side = self.list_all(
            "workspaces",
            {
                "external_reference_service_name": self.service_name,
                "external_reference_service_model": mapping.PROJECT,
                "external_reference_service_model_refs": ",".join(canonical_ids),
                "include": "external_references",
                "include_archived": "true",
            },
            "workspaces",
        )
        # Should a duplicate exist (made before Interlock took over), the oldest one wins.
        workspaces.sort(key=lambda w: int(w["id"]) if str(w["id"]).isdigit() else 0)
        return [(w, self.references_in(side, w)) for w in workspaces]

    def _orphan(self, project: Project) -> Record | None:
        """A workspace created for ``project`` whose reference was never registered."""
        workspaces, _ = self.list_all(
            "workspaces",
            {
                "search": f"description:'{mapping.marker(project.id)}'",
                "include_archived": "true",
            },
            "workspaces",
        )
        # Search is fuzzy in Kantata; only an exact marker counts.
        mine = [w for w in workspaces if mapping.carries_marker(w, project.id)]
        return min(mine, key=lambda w: int(w["id"])) if mine else None

    def _one(self, body: Any, key: str) -> Record:
        found = wire.records(self.system, body, key)
        expect(self.system, len(found) == 1, f"expected one of {key}, got {len(found)}")
        return found[0]

    def _project(self, kind: str, record: BaseModel) -> Project:
        self._kind(kind, self.writes)
        expect(self.system, isinstance(record, Project), "upsert of project needs a Project")
        assert isinstance(record, Project)
        return record

    def _kind(self, kind: str, allowed: frozenset[str] | None = None) -> None:
        allowed = self.kinds if allowed is None else allowed
        if kind not in allowed:
            raise NotImplementedError(
                f"{self.type} handles {', '.join(sorted(allowed))}, not {kind}"
            )

    # -- changes ----------------------------------------------------------------------------

    def read_changes(self, kind: str, cursor: str | None, limit: int = 200) -> ChangePage:
        """Changes of ``kind`` from Subscribed Events after ``cursor``, oldest change first.

        Each kind has its own cursor. Projects come one change per workspace event; time
        entries, expenses and assignments (workspace allocations) one change per record and
        read, with the record as it is now (see ``activity``).
        """
        self._kind(kind)
        if kind == "project":
            return WorkspaceEvents(self).read(cursor, limit)
        return RecordEvents(self, kind).read(cursor, limit)

    def classify(self, change: NativeChange) -> str:
        """``approved`` for a time entry or expense one of whose events approved it."""
        if change.deleted:
            return "deleted"
        approvable = change.kind in ("time_entry", "expense")
        if (
            approvable
            and change.payload.get("approval")
            and change.payload["record"].get("approved")
        ):
            return "approved"
        return "changed"

    def to_canonical(self, change: NativeChange) -> BaseModel:
        """The canonical record of a change (see ``mapping``, ``ledger`` and ``staffing``)."""
        self._kind(change.kind)
        names = {"system": self.system, "service_name": self.service_name}
        if change.kind == "time_entry":
            return ledger.to_time_entry(change.payload, **names)
        if change.kind == "expense":
            return ledger.to_expense(change.payload, **names)
        if change.kind == "assignment":
            return staffing.to_assignment(change.payload, **names)
        return mapping.to_project(
            change.payload["workspace"],
            change.payload.get("external_references", []),
            **names,
        )
