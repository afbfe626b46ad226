"""The records of one Kantata account and the writes on them, each logged as an event.

Thread-safe: the app serves from a uvicorn thread while tests and the demo read and change the
records from theirs. Every method returns copies, never the stored dicts. Listeners are called
after the lock is released.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable

from interlock.sandbox.kantata import records as rec
from interlock.sandbox.kantata.envelope import ApiError, error, not_found
from interlock.sandbox.kantata.events import SUBJECTS, EventLog, stamp
from interlock.sandbox.kantata.queries import Query
from interlock.sandbox.kantata.records import Record
from interlock.sandbox.kantata.tables import DEPENDENTS, TABLES, Table, Write

WriteListener = Callable[[str, str, Record], None]
"""Called after a write with (table, action, record); action is created/updated/deleted."""
Pending = list[tuple[str, str, Record]]
_REFERENCE_KEY = ("subject_type", "subject_id", "service_name", "service_model")


class RecordStore:
    """Records by type, the event log, and write listeners."""

    def __init__(self, *, seed: int, clock: Callable[[], dt.datetime] | None) -> None:
        self._lock = threading.RLock()
        self._tables: dict[str, dict[str, Record]] = {t: {} for t in TABLES}
        self._next_id = {name: table.first_id for name, table in TABLES.items()}
        self._events = EventLog(seed)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._listeners: list[WriteListener] = []

    @property
    def chaos_events(self) -> bool:
        """Whether Subscribed Events come duplicated and out of order."""
        return self._events.chaos

    @chaos_events.setter
    def chaos_events(self, value: bool) -> None:
        with self._lock:
            self._events.chaos = value

    def on_write(self, listener: WriteListener) -> None:
        """Call ``listener`` after every write (in the writing thread, outside the lock)."""
        with self._lock:
            self._listeners.append(listener)

    # -- reads ----------------------------------------------------------------------------

    def records(self, table: str) -> list[Record]:
        """Every record of ``table``, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._table(table).values()))

    def get(self, table: str, record_id: str) -> Record | None:
        with self._lock:
            return copy.deepcopy(self._table(table).get(str(record_id)))

    def subscribed_events(self, query: Query) -> list[Record]:
        with self._lock:
            self._events.prune(self.clock())
            return copy.deepcopy(self._events.select(query))

    def events(self) -> list[Record]:
        """The whole retained log, in the order events were generated."""
        with self._lock:
            self._events.prune(self.clock())
            return copy.deepcopy(self._events.all())

    # -- writes ---------------------------------------------------------------------------

    def create(self, table: str, body: Record, *, user_id: str | None = None) -> Record:
        return self.create_many(table, [body], user_id=user_id)[0]

    def create_many(
        self, table: str, bodies: list[Record], *, user_id: str | None = None
    ) -> list[Record]:
        """Create all or nothing: one invalid body rejects the whole batch."""
        build = self._spec(table).new
        if build is None:
            raise ApiError(405, [error("system", f"{table} cannot be created here")])
        pending: Pending = []
        with self._lock:
            now = self.clock()
            made: list[Record] = []
            for body in bodies:
                made.append(build(body, self._write(now, made, table, self._new_id(table))))
            for record in made:
                self._insert(table, record, now, user_id, pending)
        return self._done(pending)

    def update(
        self, table: str, record_id: str, body: Record, *, user_id: str | None = None
    ) -> Record:
        change = self._spec(table).change
        if change is None:
            raise ApiError(405, [error("system", f"{table} is read-only")])
        pending: Pending = []
        with self._lock:
            before = self._table(table).get(record_id)
            if before is None:
                raise not_found(table, record_id)
            now = self.clock()
            after = change(before, body, self._write(now, [], table, record_id))
            if _same(before, after):
                return copy.deepcopy(before)
            self._replace(table, before, after, now, user_id, pending)
        return self._done(pending)[0]

    def delete(self, table: str, record_id: str, *, user_id: str | None = None) -> None:
        """Hard delete, taking dependent records (a workspace's stories...) with it."""
        self.delete_many(table, [record_id], user_id=user_id)

    def delete_many(self, table: str, ids: list[str], *, user_id: str | None = None) -> None:
        """Delete all or nothing: a missing or protected record stops the whole delete."""
        guard = self._spec(table).guard_delete
        pending: Pending = []
        with self._lock:
            for record_id in ids:
                record = self._table(table).get(record_id)
                if record is None:
                    raise not_found(table, record_id)
                if guard is not None:
                    guard(record, self._find)
            now = self.clock()
            for record_id in ids:
                self._remove(table, record_id, now, user_id, pending)
        self._done(pending)

    def reference(self, body: Record, *, replace: bool) -> Record:
        """Create an external reference.

        With ``replace`` (``create_or_update``), update the subject's reference to the same
        service and model when there is one. Assumption: that is the key Kantata matches on.
        """
        with self._lock:
            now = stamp(self.clock())
            made = rec.new_reference(body, record_id="0", now=now, find=self._find)
            key = tuple(str(made[k]) for k in _REFERENCE_KEY)
            table = self._tables["external_references"]
            existing = next(
                (x for x in table.values() if tuple(str(x[k]) for k in _REFERENCE_KEY) == key), None
            )
            updating = replace and existing is not None
            if existing is not None and updating:
                made = {**made, "id": existing["id"], "created_at": existing["created_at"]}
            else:
                made["id"] = self._new_id("external_references")
            table[made["id"]] = made
            result = copy.deepcopy(made)
        self._notify("external_references", "updated" if updating else "created", result)
        return result

    def delete_reference(self, reference_id: str) -> None:
        with self._lock:
            if self._tables["external_references"].pop(reference_id, None) is None:
                raise not_found("external_references", reference_id)

    # -- primitives (called under the lock) -----------------------------------------------

    def _insert(
        self, table: str, record: Record, now: dt.datetime, user_id: str | None, pending: Pending
    ) -> None:
        self._tables[table][record["id"]] = record
        self._log(table, "created", None, record, now, user_id)
        pending.append((table, "created", copy.deepcopy(record)))

    def _replace(
        self,
        table: str,
        before: Record,
        after: Record,
        now: dt.datetime,
        user_id: str | None,
        pending: Pending,
    ) -> None:
        self._tables[table][after["id"]] = after
        self._log(table, "updated", before, after, now, user_id)
        pending.append((table, "updated", copy.deepcopy(after)))

    def _remove(
        self, table: str, record_id: str, now: dt.datetime, user_id: str | None, pending: Pending
    ) -> None:
        record = self._tables[table].pop(record_id, None)
        if record is None:  # already taken by another branch of the cascade
            return
        self._log(table, "deleted", record, None, now, user_id)
        self._drop_references(table, record_id)
        pending.append((table, "deleted", copy.deepcopy(record)))
        for child_table, field in DEPENDENTS.get(table, ()):
            for child in list(self._tables[child_table].values()):
                if child.get(field) == record_id:
                    self._remove(child_table, child["id"], now, user_id, pending)

    def _write(self, now: dt.datetime, batch: list[Record], table: str, record_id: str) -> Write:
        def rows(kind: str) -> list[Record]:
            stored = list(self._tables[kind].values())
            return stored + batch if kind == table else stored

        return Write(record_id, stamp(now), self._find, rows, self._acting_user())

    def _acting_user(self) -> str | None:
        # Assumption: the token belongs to the account's first user (the integration user).
        users = self._tables["users"]
        return min(users, key=int) if users else None

    def _spec(self, table: str) -> Table:
        self._table(table)
        return TABLES[table]

    def _table(self, table: str) -> dict[str, Record]:
        if table not in self._tables:
            known = ", ".join(TABLES)
            raise KeyError(f"unknown Kantata table {table!r}; one of {known}")
        return self._tables[table]

    def _find(self, table: str, record_id: str) -> Record | None:
        return self._tables[table].get(record_id)

    def _new_id(self, table: str) -> str:
        value = self._next_id[table]
        self._next_id[table] = value + 1
        return str(value)

    def _log(
        self,
        table: str,
        action: str,
        before: Record | None,
        after: Record | None,
        now: dt.datetime,
        user_id: str | None,
    ) -> None:
        if table in SUBJECTS:
            self._events.record(
                table, action, copy.deepcopy(before), copy.deepcopy(after), now=now, user_id=user_id
            )

    def _drop_references(self, table: str, record_id: str) -> None:
        subject_type = {v: k for k, v in rec.SUBJECT_TYPES.items()}.get(table)
        refs = self._tables["external_references"]
        for ref_id in [
            i
            for i, x in refs.items()
            if x["subject_type"] == subject_type and x["subject_id"] == record_id
        ]:
            del refs[ref_id]

    def _done(self, pending: Pending) -> list[Record]:
        """Notify listeners of the writes (outside the lock); the records written."""
        for table, action, record in pending:
            self._notify(table, action, record)
        return [copy.deepcopy(record) for _, _, record in pending]

    def _notify(self, table: str, action: str, record: Record) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(table, action, record)


def _same(before: Record, after: Record) -> bool:
    return {**before, "updated_at": None} == {**after, "updated_at": None}
