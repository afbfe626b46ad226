"""In-memory Float account: records, tombstones, tokens and the per-minute request budget.

Thread-safe: the app serves from a uvicorn thread while tests and the demo read and change the
state from theirs. Every method returns copies, never the stored dicts. Float has no feed of
deleted records, so a deleted record simply disappears from the API; the state keeps a
tombstone per deletion for tests and the demo to inspect (``tombstones``).
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable, Iterable
from typing import Any

from interlock.sandbox.float_.checks import Checks
from interlock.sandbox.float_.limits import RollingLimits
from interlock.sandbox.float_.records import TABLES, Record
from interlock.sandbox.float_.wire import ApiError, not_found

DEMO_TOKEN = "float-sandbox-token"  # noqa: S105 - a public demo token, not a secret
_FIRST_ID = {
    "people": 1001,
    "departments": 11,
    "clients": 301,
    "projects": 2001,
    "tasks": 90001,
    "timeoffs": 7001,
    "timeoff-types": 1,
}
# Assumption: Float's default time-off types were not documented in what we read.
_TIMEOFF_TYPES = ("Annual leave", "Sick leave", "Unpaid leave")

WriteListener = Callable[[str, str, Record], None]
"""Called after a write with (table, action, record); action is created/updated/deleted."""


def stamp(when: dt.datetime) -> str:
    """Float's ``created``/``modified`` format, in UTC [UNVERIFIED: illustrative in §3.4]."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


class FloatState:
    """One Float account.

    Args:
        tokens: Bearer tokens the API accepts.
        reads_per_minute: GET requests allowed per token per window; None turns it off.
        writes_per_minute: Non-GET requests allowed per token per window; None turns it off.
        rate_window_seconds: Length of the rolling window.
        clock: Current time (aware datetime); tests pass a fake one to move time.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEMO_TOKEN,),
        reads_per_minute: int | None = 200,
        writes_per_minute: int | None = 100,
        rate_window_seconds: float = 60.0,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._tables: dict[str, dict[int, Record]] = {t: {} for t in TABLES}
        self._tombstones: dict[str, list[Record]] = {t: [] for t in TABLES}
        self._next_id = dict(_FIRST_ID)
        self._tokens = set(tokens)
        self._listeners: list[WriteListener] = []
        self.limits = RollingLimits(reads_per_minute, writes_per_minute, rate_window_seconds)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        for name in _TIMEOFF_TYPES:
            self.create("timeoff-types", {"timeoff_type_name": name})

    # -- access and budget -------------------------------------------------------------------

    def add_token(self, token: str) -> None:
        with self._lock:
            self._tokens.add(token)

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens.discard(token)

    def authorized(self, token: str) -> bool:
        with self._lock:
            return token in self._tokens

    def spend(self, token: str, method: str) -> float | None:
        """Count one request of ``token``; None when allowed, else seconds to wait."""
        with self._lock:
            write = method.upper() not in ("GET", "HEAD")
            return self.limits.spend(token, write, self.clock().timestamp())

    def usage(self, token: str = DEMO_TOKEN) -> dict[str, int]:
        """Counters of ``token``'s requests.

        ``reads``/``writes`` in the current window, ``*_total``, ``*_rejected`` (answered 429)
        and ``*_peak`` (the most seen in any one window).
        """
        with self._lock:
            return self.limits.usage(token, self.clock().timestamp())

    def on_write(self, listener: WriteListener) -> None:
        """Call ``listener`` after every write (in the writing thread, outside the lock)."""
        with self._lock:
            self._listeners.append(listener)

    # -- reads -------------------------------------------------------------------------------

    def records(self, table: str) -> list[Record]:
        """Every live record of ``table``, by id."""
        with self._lock:
            return copy.deepcopy(list(self._table(table).values()))

    def get(self, table: str, record_id: int | str) -> Record | None:
        with self._lock:
            if not str(record_id).isdigit():
                return None
            return copy.deepcopy(self._table(table).get(int(record_id)))

    def tombstones(self, table: str) -> list[Record]:
        """``{"id", "deleted"}`` of every record of ``table`` deleted so far, oldest first."""
        with self._lock:
            self._table(table)
            return copy.deepcopy(self._tombstones[table])

    def live(self, table: str, record_id: int) -> Record | None:
        """The stored record (no copy): for builders running under the lock."""
        return self._tables[table].get(record_id)

    def rows(self, table: str) -> Iterable[Record]:
        return self._tables[table].values()

    # -- writes ------------------------------------------------------------------------------

    def create(self, table: str, body: dict[str, Any]) -> Record:
        """Create a record from a request body; ApiError 422 names every problem."""
        spec = TABLES[table]
        with self._lock:
            self._table(table)
            checks = Checks(dict(body))
            fields = spec.build(checks, self, None)
            checks.done()
            record_id = self._next_id[table]
            self._next_id[table] = record_id + 1
            now = stamp(self.clock())
            record = {spec.id_field: record_id, **fields, "created": now, "modified": now}
            self._tables[table][record_id] = record
            made = copy.deepcopy(record)
        self._notify(table, "created", made)
        return made

    def update(self, table: str, record_id: int | str, body: dict[str, Any]) -> Record:
        """Change the fields in ``body``; ``modified`` moves only when a value changed."""
        spec = TABLES[table]
        with self._lock:
            current = self._table(table).get(_id(record_id))
            if current is None:
                raise not_found(table, str(record_id))
            checks = Checks(dict(body), current)
            fields = spec.build(checks, self, current[spec.id_field])
            checks.done()
            if all(current.get(k) == v for k, v in fields.items()):
                return copy.deepcopy(current)
            current.update(fields, modified=stamp(self.clock()))
            changed = copy.deepcopy(current)
        self._notify(table, "updated", changed)
        return changed

    def delete(self, table: str, record_id: int | str) -> None:
        """Hard delete. A person's or project's tasks go along, and a person's time off."""
        removed: list[tuple[str, Record]] = []
        with self._lock:
            key = _id(record_id)
            if key not in self._table(table):
                raise not_found(table, str(record_id))
            now = stamp(self.clock())
            for kind, doomed in self._doomed(table, key):
                record = self._tables[kind].pop(doomed)
                self._tombstones[kind].append({"id": doomed, "deleted": now})
                removed.append((kind, record))
        for kind, record in removed:
            self._notify(kind, "deleted", record)

    # -- internals ---------------------------------------------------------------------------

    def _doomed(self, table: str, key: int) -> list[tuple[str, int]]:
        doomed = [(table, key)]
        if table == "projects":
            doomed += [
                ("tasks", i) for i, t in self._tables["tasks"].items() if t["project_id"] == key
            ]
        if table == "people":
            doomed += [
                ("tasks", i)
                for i, t in self._tables["tasks"].items()
                if t["people_id"] == key or key in (t["people_ids"] or [])
            ]
            doomed += [
                ("timeoffs", i)
                for i, t in self._tables["timeoffs"].items()
                if t["people_ids"] == [key]
            ]
        return doomed

    def _table(self, table: str) -> dict[int, Record]:
        if table not in self._tables:
            raise KeyError(f"unknown Float table {table!r}; one of {', '.join(TABLES)}")
        return self._tables[table]

    def _notify(self, table: str, action: str, record: Record) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(table, action, record)


def _id(record_id: int | str) -> int:
    try:
        return int(record_id)
    except (TypeError, ValueError):
        raise ApiError(404, f"Object not found: {record_id}") from None
