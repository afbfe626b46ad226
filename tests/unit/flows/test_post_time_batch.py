"""``PostTime.post_many``, the batch version of the ``post`` step, called directly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from interlock.connectors.base import UpsertResult
from interlock.engine.flow import StepContext
from interlock.events import CloudEvent, event_type
from interlock.exceptions import ConnectorUnavailable, RecordRejected
from interlock.flows import PostTime
from interlock.model import ApprovalState, TimeEntry
from interlock.store import Store, xref
from interlock.testing import InMemoryConnector


class BatchErp(InMemoryConnector):
    """An ERP with a batch call that, like Tryton's, refuses the whole batch for one entry."""

    def __init__(self, refuse: set[str], down: bool = False) -> None:
        super().__init__("erp")
        self.refuse, self.down = refuse, down
        self.batches: list[int] = []

    def upsert(
        self, kind: str, record: BaseModel, refs: Mapping[str, str] | None = None
    ) -> UpsertResult:
        if getattr(record, "id", None) in self.refuse:
            raise RecordRejected("erp", f"{getattr(record, 'id', '')}: employee has left")
        return super().upsert(kind, record, refs)

    def upsert_many(
        self, kind: str, items: Sequence[tuple[BaseModel, Mapping[str, str]]]
    ) -> list[UpsertResult]:
        self.batches.append(len(items))
        if self.down:
            raise ConnectorUnavailable("erp", "HTTP 503")
        if any(getattr(record, "id", None) in self.refuse for record, _ in items):
            raise RecordRejected("erp", "one of the lines is refused")
        return [super(BatchErp, self).upsert(kind, record, refs) for record, refs in items]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    s.upgrade()
    yield s
    s.close()


def _contexts(store: Store, erp: InMemoryConnector, count: int) -> list[StepContext]:
    contexts = []
    for n in range(count):
        entry = TimeEntry(
            id=f"te{n}",
            project_id="project_1",
            task_id="task_1",
            consultant_id="consultant_1",
            date=dt.date(2026, 3, 2 + n),
            hours=Decimal("7.5"),
            state=ApprovalState.APPROVED,
        )
        event = CloudEvent(
            source="/systems/time-capture",
            type=event_type("time_entry", "approved"),
            subject=entry.id,
            data=entry.model_dump(mode="json"),
        )
        validated = {
            "entry": entry.model_dump(mode="json"),
            "refs": {"project": "7", "task": "8", "employee": "9"},
        }
        contexts.append(
            StepContext(
                run_id=f"run{n}",
                business_key=entry.id,
                event=event,
                outputs={"validate": validated},
                store=store,
                systems={"erp": erp},
                roles={"erp": "erp"},
                started_at=dt.datetime.now(dt.UTC),
            )
        )
    return contexts


def test_a_batch_posts_every_entry_in_one_call_and_links_each(store: Store) -> None:
    erp = BatchErp(refuse=set())
    outcomes = PostTime().batch_steps()["post"](_contexts(store, erp, 4))

    assert erp.batches == [4]
    assert [o["created"] for o in outcomes if isinstance(o, dict)] == [True] * 4
    assert [len(o["emit"]) for o in outcomes if isinstance(o, dict)] == [1] * 4
    with store.transaction() as conn:
        linked = [xref.native_id(conn, "time_entry", f"te{n}", "erp") for n in range(4)]
    assert linked == [o["native_id"] for o in outcomes if isinstance(o, dict)]


def test_one_refused_entry_fails_alone_and_the_others_are_posted(store: Store) -> None:
    erp = BatchErp(refuse={"te2"})
    outcomes = PostTime().post_many(_contexts(store, erp, 4))

    assert [type(o).__name__ for o in outcomes] == ["dict", "dict", "RecordRejected", "dict"]
    assert "employee has left" in str(outcomes[2])
    assert sorted(erp.records["time_entry"]) == ["te0", "te1", "te3"]


def test_an_outage_fails_every_run_of_the_batch_with_a_retryable_error(store: Store) -> None:
    erp = BatchErp(refuse=set(), down=True)
    with pytest.raises(ConnectorUnavailable):
        PostTime().post_many(_contexts(store, erp, 3))
    assert "time_entry" not in erp.records


def test_without_a_batch_method_each_entry_is_upserted_alone(store: Store) -> None:
    erp = InMemoryConnector("erp")
    erp.fail_next = [RecordRejected("erp", "closed period")]
    outcomes = PostTime().post_many(_contexts(store, erp, 3))

    assert isinstance(outcomes[0], RecordRejected)
    assert [o["created"] for o in outcomes[1:] if isinstance(o, dict)] == [True, True]
    assert [w[1] for w in erp.writes] == ["te1", "te2"]


def test_a_repeated_batch_creates_nothing(store: Store) -> None:
    erp = BatchErp(refuse=set())
    PostTime().post_many(_contexts(store, erp, 2))
    again = PostTime().post_many(_contexts(store, erp, 2))
    assert [o["created"] for o in again if isinstance(o, dict)] == [False, False]
