"""The Float connector: projects, staffing demand and assignments in, schedule changes out.

Float has no idempotency key and no external ids (vendor-apis.md §3.6), so every upsert
looks before it writes: Interlock's records carry a marker in ``notes`` (see ``mapping``),
and the marker travels in the create request itself. A create whose answer is lost (timeout,
crash right after sending) therefore left a record that the next attempt finds by its marker
and updates, instead of creating a second one. What stays open: two processes upserting the
same record at the same moment could both create it; the engine runs one step per record at
a time, and should a duplicate appear anyway the oldest record wins every later look-up.

Requests are paced by a per-connector ``RequestBudget`` (see ``budget``), and a 429 pauses
it for Retry-After; the engine then retries the step.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from interlock.connectors.base import ChangePage, Connector, NativeChange, UpsertResult
from interlock.connectors.float_ import mapping, wire
from interlock.connectors.float_.auth import FloatCredentials
from interlock.connectors.float_.budget import Clock, PerMinuteBudget, RequestBudget, Sleep
from interlock.connectors.float_.changes import ChangeReader, Record, Stream, change_of
from interlock.connectors.float_.config import FloatConfig
from interlock.connectors.float_.schedule import Schedule, ref
from interlock.connectors.http import VendorHttp, expect
from interlock.exceptions import ConnectorUnavailable, OutcomeUnknown, RateLimited
from interlock.model import Assignment, Project, StaffingDemand

M = TypeVar("M", bound=BaseModel)
API = "/v3"
READ_RETRIES = 2
STREAMS = {
    "assignment": Stream("assignment", "tasks", "task_id", "task_id,people_id,people_ids"),
    "consultant": Stream("consultant", "people", "people_id", "people_id,people_type_id"),
    "time_off": Stream("time_off", "timeoffs", "timeoff_id", "timeoff_id"),
}
PATHS = {
    "project": ("projects", "project_id"),
    "staffing_demand": ("tasks", "task_id"),
    "assignment": ("tasks", "task_id"),
    "consultant": ("people", "people_id"),
    "time_off": ("timeoffs", "timeoff_id"),
}


class FloatConnector(Connector):
    """Writes projects, placeholder demand and assignments to Float; reads schedule changes.

    Args:
        system: Name of this system in the topology.
        config: Connection settings.
        budget: Request pacing; by default a ``PerMinuteBudget`` from the config.
        clock: Monotonic seconds for the default budget (tests pass a fake one).
        sleep: Waits for the default budget and read retries (tests pass a fake one).
        now: Wall-clock time for deletion scans.
    """

    type = "float"
    kinds = frozenset({"project", "staffing_demand", "assignment", "consultant", "time_off"})

    def __init__(
        self,
        system: str,
        config: FloatConfig,
        *,
        budget: RequestBudget | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        super().__init__(system)
        self.config = config
        self._credentials = FloatCredentials(config.access_token, config.user_agent)
        self._sleep = sleep or time.sleep
        root = config.base_url.rstrip("/")
        self._http = VendorHttp(
            system,
            (root if root.endswith(API) else root + API) + "/",
            read_error=wire.read_error,
            timeout=config.timeout_seconds,
            auth_headers=self._credentials.headers,
            headers={"Accept": "application/json"},
            read_retries=0,  # retried here instead, through the budget
        )
        self.budget: RequestBudget = budget or PerMinuteBudget(
            config.reads_per_minute,
            config.writes_per_minute,
            read_burst=config.read_burst,
            write_burst=config.write_burst,
            clock=clock or time.monotonic,
            sleep=self._sleep,
        )
        self._reader = ChangeReader(
            self.list_all,
            overlap=config.change_overlap_seconds,
            scan_every=config.deletion_scan_seconds,
            date_only=config.modified_since_format == "date",
            now=now or (lambda: dt.datetime.now(dt.UTC)),
        )

    # -- plumbing ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one request within the budget; reads that fail transiently are tried again."""
        safe = method.upper() == "GET"
        for attempt in range(READ_RETRIES + 1 if safe else 1):
            self.budget.acquire(method)
            try:
                return self._http.request(method, path, json=json, params=params)
            except RateLimited as exc:
                wait = exc.retry_after
                wait = self.config.rate_limit_retry_seconds if wait is None else wait
                self.budget.pause(method, wait)
                if not safe or attempt == READ_RETRIES or wait > 2.0:
                    raise RateLimited(
                        self.system,
                        exc.message.removeprefix(f"{self.system}: "),
                        status=exc.status,
                        code=exc.code,
                        retry_after=wait,
                    ) from exc
            except ConnectorUnavailable as exc:
                if not safe or isinstance(exc, OutcomeUnknown) or attempt == READ_RETRIES:
                    raise
                self._sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def send(self, method: str, path: str, body: Record | None = None) -> Record:
        """A write; the record Float answers with ({} for a 204)."""
        response = self.request(method, path, json=body)
        if response.status_code == 204:
            return {}
        found = self._http.json(response)
        expect(self.system, isinstance(found, dict), f"{method} {path} did not answer an object")
        return dict(found)

    def list_all(self, path: str, params: Mapping[str, str]) -> list[Record]:
        """Every page of a list, stopping at ``X-Pagination-Page-Count``."""
        found: list[Record] = []
        page = 1
        while True:
            query = {**params, "page": str(page), "per-page": str(self.config.per_page)}
            response = self.request("GET", path, params=query)
            body = self._http.json(response)
            expect(self.system, isinstance(body, list), f"GET {path} did not answer a list")
            found += body
            count = wire.page_count(response)
            last = len(body) < self.config.per_page if count is None else page >= count
            if last or not body:
                return found
            page += 1

    def authenticate(self) -> None:
        """Check the token and User-Agent now with one cheap read."""
        self.request("GET", "people", params={"per-page": "1", "fields": "people_id"})

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    # -- writes -----------------------------------------------------------------------------

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        """Create or update by canonical id.

        Refs: ``project`` takes an optional ``customer`` (Float client id);
        ``staffing_demand`` needs ``project``; ``assignment`` needs ``project`` and ``person``
        (or ``employee``), the Float people id of the consultant.
        """
        return self.upsert_many(kind, [(record, refs or {})])[0]

    def upsert_many(
        self, kind: str, items: Sequence[tuple[BaseModel, Mapping[str, str]]]
    ) -> list[UpsertResult]:
        """Upsert several records; look-ups are shared (Float has no batch API)."""
        if kind == "project":
            projects = self.list_all("projects", {})
            return [self._project(_typed(r, Project), refs, projects) for r, refs in items]
        schedule = Schedule(self, self.config.placeholder_day_hours)
        if kind == "staffing_demand":
            return [schedule.demand(_typed(r, StaffingDemand), refs) for r, refs in items]
        if kind == "assignment":
            return [schedule.assignment(_typed(r, Assignment), refs) for r, refs in items]
        raise NotImplementedError(f"float writes project, staffing_demand, assignment; not {kind}")

    def _project(
        self, project: Project, refs: Mapping[str, str], projects: list[Record]
    ) -> UpsertResult:
        client = ref(refs, "project", "customer") if refs.get("customer") else None
        desired = {
            **mapping.project_fields(project, client),
            "notes": mapping.marker("project", project.id),
        }
        current = _oldest_marked(projects, "project", project.id, "project_id")
        if current is None:
            made = self.send("POST", "projects", desired)
            projects.append(made)
            return UpsertResult(native_id=str(made["project_id"]), created=True)
        changed = mapping.changes(current, desired)
        if changed:
            current.update(self.send("PATCH", f"projects/{current['project_id']}", changed))
        return UpsertResult(native_id=str(current["project_id"]), created=False)

    def find(self, kind: str, canonical_id: str) -> str | None:
        """The Float id of the project or task Interlock wrote for ``canonical_id``."""
        if kind not in ("project", "staffing_demand", "assignment"):
            raise NotImplementedError(f"float finds projects, demand and assignments; not {kind}")
        path, id_field = PATHS[kind]
        found = _oldest_marked(self.list_all(path, {}), kind, canonical_id, id_field)
        return None if found is None else str(found[id_field])

    def get(self, kind: str, native_id: str) -> NativeChange:
        """The current record, as a change. RecordNotFound when it does not exist."""
        path, id_field = PATHS[self._kind(kind)]
        found = self._http.json(self.request("GET", f"{path}/{native_id}"))
        expect(self.system, isinstance(found, dict), f"GET {path}/{native_id} is not an object")
        return change_of(Stream(kind, path, id_field, id_field), found)

    # -- changes ----------------------------------------------------------------------------

    def read_changes(self, kind: str, cursor: str | None, limit: int = 200) -> ChangePage:
        """Changes of assignments (tasks of real people), consultants or time off."""
        if kind not in STREAMS:
            raise NotImplementedError(f"float reads assignment, consultant, time_off; not {kind}")
        return self._reader.read(STREAMS[kind], cursor, limit, self._keep(kind))

    def _keep(self, kind: str) -> Callable[[Record], bool]:
        if kind == "consultant":
            return lambda p: p.get("people_type_id") != mapping.PLACEHOLDER_TYPE
        if kind != "assignment":
            return lambda r: True
        placeholders: set[int] = set()
        loaded = False

        def real_person(task: Record) -> bool:
            nonlocal loaded
            if not loaded:
                people = self.list_all("people", {"fields": "people_id,people_type_id"})
                placeholders.update(
                    int(p["people_id"])
                    for p in people
                    if p.get("people_type_id") == mapping.PLACEHOLDER_TYPE
                )
                loaded = True
            person = task.get("people_id")
            ids = [person] if person is not None else list(task.get("people_ids") or [])
            return any(int(i) not in placeholders for i in ids)

        return real_person

    def to_canonical(self, change: NativeChange) -> BaseModel:
        """The canonical assignment (of a task) or consultant (of a person)."""
        if change.kind == "assignment":
            return mapping.to_assignment(change.payload, system=self.system)
        if change.kind == "consultant":
            return mapping.to_consultant(change.payload, system=self.system)
        raise NotImplementedError(
            f"float has no canonical contract for {change.kind}; read its payload instead"
        )

    def _kind(self, kind: str) -> str:
        if kind not in self.kinds:
            raise NotImplementedError(f"float handles {', '.join(sorted(self.kinds))}; not {kind}")
        return kind


def _typed(record: BaseModel, model: type[M]) -> M:
    if not isinstance(record, model):
        raise TypeError(f"expected a {model.__name__}, got {type(record).__name__}")
    return record


def _oldest_marked(
    records: list[Record], kind: str, canonical: str, id_field: str
) -> Record | None:
    """The oldest record carrying the (first-slot) marker of ``canonical``."""
    mine = [r for r in records if mapping.read_marker(r.get("notes")) == (kind, canonical, 1)]
    return min(mine, key=lambda r: int(r[id_field])) if mine else None
