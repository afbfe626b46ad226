"""In-memory Kantata account: records, tokens, throttling budget and the event log.

Thread-safe: the app serves from a uvicorn thread while tests and the demo read and change the
state from theirs. Every method returns copies, never the stored dicts.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable

from interlock.sandbox.kantata import records as rec
from interlock.sandbox.kantata.envelope import ApiError, not_found
from interlock.sandbox.kantata.events import EventLog, stamp
from interlock.sandbox.kantata.queries import Query
from interlock.sandbox.kantata.records import Record

DEMO_TOKEN = "kantata-sandbox-token"  # noqa: S105 - a public demo token, not a secret
TABLES = ("workspaces", "stories", "users", "external_references")
_FIRST_ID = {"workspaces": 1001, "stories": 5001, "users": 1, "external_references": 9001}
_REFERENCE_KEY = ("subject_type", "subject_id", "service_name", "service_model")

WriteListener = Callable[[str, str, Record], None]
"""Called after a write with (table, action, record); action is created/updated/deleted."""


class KantataState:
    """One Kantata account.

    Args:
        tokens: Bearer tokens the API accepts.
        seed: Seed of the generator behind ``chaos_events``.
        chaos_events: Deliver subscribed events duplicated and out of order.
        rate_limit: Requests allowed per token per window; None turns throttling off.
        rate_window_seconds: Length of the throttling window.
        clock: Current time (aware datetime); tests pass a fake one to move time.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEMO_TOKEN,),
        seed: int = 0,
        chaos_events: bool = False,
        rate_limit: int | None = None,
        rate_window_seconds: float = 60.0,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._tables: dict[str, dict[str, Record]] = {t: {} for t in TABLES}
        self._next_id = dict(_FIRST_ID)
        self._tokens = set(tokens)
        self._events = EventLog(seed)
        self._events.chaos = chaos_events
        self.rate_limit = rate_limit
        self.rate_window_seconds = rate_window_seconds
        self._usage: dict[str, tuple[float, int]] = {}
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._listeners: list[WriteListener] = []

    # -- settings -------------------------------------------------------------------------

    @property
    def chaos_events(self) -> bool:
        return self._events.chaos

    @chaos_events.setter
    def chaos_events(self, value: bool) -> None:
        with self._lock:
            self._events.chaos = value

    def add_token(self, token: str) -> None:
        with self._lock:
            self._tokens.add(token)

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens.discard(token)

    def authorized(self, token: str) -> bool:
        with self._lock:
            return token in self._tokens

    def spend(self, token: str) -> bool:
        """Count one request against ``token``'s budget; False when the budget is used up."""
        with self._lock:
            if self.rate_limit is None:
                return True
            now = time.monotonic()
            start, used = self._usage.get(token, (now, 0))
            if now - start >= self.rate_window_seconds:
                start, used = now, 0
            self._usage[token] = (start, used + 1)
            return used < self.rate_limit

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
            found = self._table(table).get(str(record_id))
            return copy.deepcopy(found)

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
        with self._lock:
            now = self.clock()
            made: list[Record] = []
            for body in bodies:
                made.append(self._build(table, body, now, made))
            for record in made:
                self._table(table)[record["id"]] = record
                self._log(table, "created", None, record, now, user_id)
            result = copy.deepcopy(made)
        for record in result:
            self._notify(table, "created", record)
        return result

    def update(
        self, table: str, record_id: str, body: Record, *, user_id: str | None = None
    ) -> Record:
        with self._lock:
            before = self._table(table).get(record_id)
            if before is None:
                raise not_found(table, record_id)
            now = self.clock()
            if table == "workspaces":
                after = rec.change_workspace(before, body, now=stamp(now))
            elif table == "stories":
                after = rec.change_story(before, body, now=stamp(now), find=self._find)
            else:
                raise ApiError(405, [{"type": "system", "message": f"{table} is read-only"}])
            if _same(before, after):
                return copy.deepcopy(before)
            self._table(table)[record_id] = after
            self._log(table, "updated", before, after, now, user_id)
            result = copy.deepcopy(after)
        self._notify(table, "updated", result)
        return result

    def delete(self, table: str, record_id: str, *, user_id: str | None = None) -> None:
        """Hard delete; a workspace takes its stories and every reference with it."""
        removed: list[tuple[str, Record]] = []
        with self._lock:
            if record_id not in self._table(table):
                raise not_found(table, record_id)
            now = self.clock()
            doomed = [(table, record_id)]
            if table == "workspaces":
                doomed += [
                    ("stories", s["id"])
                    for s in self._tables["stories"].values()
                    if s["workspace_id"] == record_id
                ]
            for kind, doomed_id in doomed:
                record = self._tables[kind].pop(doomed_id)
                self._log(kind, "deleted", record, None, now, user_id)
                removed.append((kind, record))
                self._drop_references(kind, doomed_id)
        for kind, record in removed:
            self._notify(kind, "deleted", record)

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

    def add_user(self, full_name: str, email_address: str, headline: str | None) -> Record:
        with self._lock:
            user_id = self._new_id("users")
            user: Record = {
                "id": user_id,
                "full_name": full_name,
                "email_address": email_address,
                "headline": headline,
                "disabled": False,
            }
            self._tables["users"][user_id] = user
            return copy.deepcopy(user)

    # -- internals ------------------------------------------------------------------------

    def _table(self, table: str) -> dict[str, Record]:
        if table not in self._tables:
            raise KeyError(f"unknown Kantata table {table!r}; one of {', '.join(TABLES)}")
        return self._tables[table]

    def _find(self, table: str, record_id: str) -> Record | None:
        return self._tables[table].get(record_id)

    def _new_id(self, table: str) -> str:
        value = self._next_id[table]
        self._next_id[table] = value + 1
        return str(value)

    def _build(self, table: str, body: Record, now: dt.datetime, batch: list[Record]) -> Record:
        if table == "workspaces":
            return rec.new_workspace(body, record_id=self._new_id(table), now=stamp(now))
        if table == "stories":
            workspace_id = str(body.get("workspace_id") or "")
            siblings = [*self._tables["stories"].values(), *batch]
            position = 1 + sum(1 for s in siblings if s["workspace_id"] == workspace_id)
            return rec.new_story(
                body,
                record_id=self._new_id(table),
                now=stamp(now),
                position=position,
                find=self._find,
            )
        raise ApiError(405, [{"type": "system", "message": f"{table} cannot be created here"}])

    def _log(
        self,
        table: str,
        action: str,
        before: Record | None,
        after: Record | None,
        now: dt.datetime,
        user_id: str | None,
    ) -> None:
        self._events.record(
            table, action, copy.deepcopy(before), copy.deepcopy(after), now=now, user_id=user_id
        )

    def _drop_references(self, table: str, record_id: str) -> None:
        subject_type = {v: k for k, v in rec.SUBJECT_TYPES.items()}[table]
        refs = self._tables["external_references"]
        for ref_id in [
            i
            for i, x in refs.items()
            if x["subject_type"] == subject_type and x["subject_id"] == record_id
        ]:
            del refs[ref_id]

    def _notify(self, table: str, action: str, record: Record) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(table, action, record)


def _same(before: Record, after: Record) -> bool:
    return {**before, "updated_at": None} == {**after, "updated_at": None}
