"""Stateful property test of the engine: crashes, duplicate deliveries, reordering, retries.

Invariants after draining: no event lost, no external effect duplicated, per-key order kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from pydantic import BaseModel

from interlock.connectors.base import Connector, NativeChange, UpsertResult
from interlock.engine import Decision, Engine, Flow, RetryPolicy, Source, StepContext
from interlock.events import CloudEvent
from interlock.exceptions import ConnectorUnavailable
from interlock.store import Store, journal
from interlock.testing import InMemoryConnector

BASE = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
KEYS = ("a", "b", "c")


class Item(BaseModel):
    id: str
    key: str
    version: int


class Crash(BaseException):
    """The process dies."""


class Target(InMemoryConnector):
    """Records the order in which effects land, and can die right after writing."""

    def __init__(self) -> None:
        super().__init__("target")
        self.landed: list[tuple[str, int]] = []
        self.crash_after_next_write = False

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        result = super().upsert(kind, record, refs)
        assert isinstance(record, Item)
        if result.created:
            self.landed.append((record.key, record.version))
        if self.crash_after_next_write:
            self.crash_after_next_write = False
            raise Crash
        return result


class Apply(Flow):
    """One run per change: apply it to the target."""

    name: ClassVar[str] = "apply"
    triggers: ClassVar[frozenset[str]] = frozenset({"interlock.item.changed.v1"})
    sources: ClassVar[tuple[tuple[str, str], ...]] = (("crm", "item"),)

    def decide(
        self,
        event: CloudEvent,
        conn: sa.Connection,
        systems: Mapping[str, Connector],
        roles: Mapping[str, str],
    ) -> Decision:
        return Decision.run(f"{event.subject}@{event.data['version']}")

    def steps(self) -> list[tuple[str, Any]]:
        return [("apply", self.apply)]

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        payload = ctx.event.data["payload"]
        item = Item(
            id=f"{payload['key']}:{payload['version']}",
            key=payload["key"],
            version=payload["version"],
        )
        return {"native": ctx.system("psa").upsert("item", item).native_id}


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.store = Store(f"sqlite:///{Path(self.folder.name) / 'sm.sqlite'}")
        self.store.upgrade()
        self.source = InMemoryConnector("crm")
        self.target = Target()
        self.versions = dict.fromkeys(KEYS, 0)
        self.emitted: set[tuple[str, int]] = set()
        self.held_back: list[tuple[str, int]] = []
        self.generation = 0
        self.engine = self._engine()

    def _engine(self) -> Engine:
        self.generation += 1
        return Engine(
            self.store,
            {"crm": self.source, "psa": self.target},
            {"crm": "crm", "psa": "psa"},
            [Apply()],
            [Source("crm", "item")],
            batch=3,
            lease=dt.timedelta(seconds=0.05),
            worker=f"w{self.generation}",
            policy=RetryPolicy(max_attempts=50, base_seconds=0.0, max_seconds=0.0),
        )

    def _emit(self, key: str, version: int) -> None:
        self.source.emit("item", key, version, {"key": key, "version": version})
        change = self.source._changes[-1]
        self.source._changes[-1] = NativeChange(
            change.kind,
            change.native_id,
            change.version,
            BASE + dt.timedelta(seconds=version),
            change.payload,
        )
        self.emitted.add((key, version))

    @rule(key=st.sampled_from(KEYS))
    def change(self, key: str) -> None:
        self.versions[key] += 1
        self._emit(key, self.versions[key])

    @precondition(lambda self: bool(self.emitted))
    @rule(data=st.data())
    def deliver_again(self, data: st.DataObject) -> None:
        key, version = data.draw(st.sampled_from(sorted(self.emitted)))
        self._emit(key, version)  # the same change delivered twice

    @rule(key=st.sampled_from(KEYS))
    def change_held_back(self, key: str) -> None:
        self.versions[key] += 1
        self.held_back.append((key, self.versions[key]))  # it will arrive late

    @precondition(lambda self: bool(self.held_back))
    @rule()
    def late_change_arrives(self) -> None:
        key, version = self.held_back.pop(0)
        self._emit(key, version)

    @rule(times=st.integers(1, 3))
    def target_fails(self, times: int) -> None:
        self.target.fail_next.extend(
            ConnectorUnavailable("target", "HTTP 503") for _ in range(times)
        )

    @rule(rounds=st.integers(1, 3))
    def work(self, rounds: int) -> None:
        for _ in range(rounds):
            self.engine.work_once()

    @rule()
    def crash_and_restart(self) -> None:
        self.target.crash_after_next_write = True
        with contextlib.suppress(Crash):
            self.engine.work_once()
        self.target.crash_after_next_write = False
        time.sleep(0.06)  # the dead worker's leases run out
        self.engine = self._engine()

    @invariant()
    def no_effect_twice_and_order_per_key(self) -> None:
        assert len(self.target.landed) == len(set(self.target.landed))
        for key in KEYS:
            applied = [v for k, v in self.target.landed if k == key]
            assert applied == sorted(applied), (key, applied)

    def teardown(self) -> None:
        try:
            time.sleep(0.06)
            engine = self._engine()
            for _ in range(200):
                if engine.work_once() == 0 and engine.work_once() == 0:
                    break
            with self.store.transaction() as conn:
                counts = journal.counts(conn)
            assert not set(counts) & set(journal.Status.OPEN), counts
            landed = set(self.target.landed)
            for key in KEYS:  # no event lost: the newest change of every key landed
                newest = max((v for k, v in self.emitted if k == key), default=0)
                if newest:
                    assert (key, newest) in landed
            assert landed <= self.emitted
            self.no_effect_twice_and_order_per_key()
        finally:
            self.store.close()
            self.folder.cleanup()


EngineMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_engine_invariants = EngineMachine.TestCase
