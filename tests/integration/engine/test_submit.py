"""submit(): canonical events in, each checked against its contract, nothing lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from interlock.engine.ingest import SUBMIT_INVALID_TYPE, submit, submit_events
from interlock.events import CloudEvent
from interlock.exceptions import ContractViolation
from interlock.store import Store, counters, journal
from interlock.store.schema import journal as journal_table

SOURCE = "/partners/timesheets"
TYPE = "interlock.time_entry.approved.v1"
AT = dt.datetime(2027, 2, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.upgrade()
    yield s
    s.close()


def entry(n: int, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": f"te{n}",
        "project_id": "project_1",
        "consultant_id": "consultant_1",
        "date": "2027-01-15",
        "hours": "7.5",
        "state": "approved",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def event(n: int, data: dict[str, Any] | None = None, **envelope: Any) -> CloudEvent:
    fields: dict[str, Any] = {
        "id": f"evt-{n}",
        "source": SOURCE,
        "type": TYPE,
        "subject": f"te{n}",
        "time": AT + dt.timedelta(minutes=n),
        "data": entry(n) if data is None else data,
    }
    fields.update(envelope)
    return CloudEvent(**fields)


def journaled(store: Store) -> list[dict[str, Any]]:
    with store.transaction() as conn:
        rows = conn.execute(
            sa.select(
                journal_table.c.event_id,
                journal_table.c.type,
                journal_table.c.subject,
                journal_table.c.envelope,
            ).order_by(journal_table.c.id)
        ).all()
    return [dict(row._mapping) for row in rows]


def rules(problem: ContractViolation) -> dict[str, str]:
    return {p.field: p.rule for p in problem.problems}


def test_valid_events_are_journaled_verbatim_and_invalid_ones_kept_with_their_problems(
    store: Store,
) -> None:
    good = [event(1), event(2)]
    too_long = event(3, entry(3, hours="30"))
    missing = event(4, entry(4, consultant_id=None))

    result = submit(store, [good[0], too_long, good[1], missing])

    assert result.journaled == 2
    assert result.duplicates == 0
    assert [rules(p) for p in result.rejected] == [
        {"hours": "Input should be less than or equal to 24"},
        {"consultant_id": "Field required"},
    ]
    assert "evt-3" in str(result.rejected[0])
    rows = journaled(store)
    assert [(r["event_id"], r["type"]) for r in rows] == [
        ("evt-1", TYPE),
        ("evt-3", SUBMIT_INVALID_TYPE),
        ("evt-2", TYPE),
        ("evt-4", SUBMIT_INVALID_TYPE),
    ]
    assert CloudEvent.model_validate(rows[0]["envelope"]) == good[0]
    kept = CloudEvent.model_validate(rows[1]["envelope"])
    assert kept.subject == "te3"
    assert kept.source == SOURCE
    # The original is kept whole: it can be read back as the event that was refused.
    assert CloudEvent.model_validate(kept.data["event"]) == too_long
    assert kept.data["problems"] == [
        {"field": "hours", "rule": "Input should be less than or equal to 24"}
    ]
    with store.transaction() as conn:
        assert counters.read(conn)["submitted_invalid_events"] == 2


def test_a_repeat_is_dropped_and_counted_and_a_corrected_event_taken(store: Store) -> None:
    assert submit_events(store, [event(1), event(2)]) == 2
    # Same source and id: a repeat, even with other data and in a batch with its own copy.
    repeat = event(1, entry(1, hours="8"))
    result = submit(store, [repeat, event(3), event(3)])

    assert (result.journaled, result.duplicates, result.rejected) == (1, 2, [])
    assert [r["event_id"] for r in journaled(store)] == ["evt-1", "evt-2", "evt-3"]
    assert journaled(store)[0]["envelope"]["data"]["hours"] == "7.5"
    # Another source may use the same id: CloudEvents ids are unique per source.
    assert submit_events(store, [event(1, source="/partners/other")]) == 1

    # An invalid event is kept once; the corrected event with the same id is then taken.
    first = submit(store, [event(4, entry(4, hours="0"))])
    again = submit(store, [event(4, entry(4, hours="0"))])
    fixed = submit(store, [event(4)])

    assert [rules(p) for p in first.rejected] == [{"hours": "Input should be greater than 0"}]
    assert (again.journaled, again.duplicates, len(again.rejected)) == (0, 1, 1)
    assert (fixed.journaled, fixed.duplicates, fixed.rejected) == (1, 0, [])
    assert [r["type"] for r in journaled(store) if r["event_id"] == "evt-4"] == [
        SUBMIT_INVALID_TYPE,
        TYPE,
    ]
    with store.transaction() as conn:
        assert counters.read(conn)["submitted_duplicates_dropped"] == 3


def test_a_type_naming_no_contract_is_rejected_naming_the_type(store: Store) -> None:
    # Not a contract at all, and the types of the hub's own records of refused input.
    kinds = [
        "interlock.no_such_thing.changed.v1",
        SUBMIT_INVALID_TYPE,
        "interlock.fabric.invalid.v1",
    ]
    result = submit(store, [event(n, type=kind) for n, kind in enumerate(kinds)])

    assert result.journaled == 0
    assert [rules(p) for p in result.rejected] == [
        {"type": f"{kind!r} names no canonical contract"} for kind in kinds
    ]
    rows = journaled(store)
    assert [r["type"] for r in rows] == [SUBMIT_INVALID_TYPE] * 3
    assert [r["envelope"]["data"]["event"]["type"] for r in rows] == kinds


def test_values_the_store_cannot_hold_are_rejected_and_the_rest_of_the_batch_journaled(
    store: Store,
) -> None:
    # A PostgreSQL column would truncate a long id and a NUL would fail the whole batch: each
    # is refused by name instead, and the refused event is still kept, readable.
    long_id = event(1, id="x" * 65)
    nul = event(2, entry(2, description="before\x00after"))
    long_subject = event(3, subject="s" * 121)
    # A space in the source would make "<source> <id>" keys of two events collide.
    spaced = event(4, source="/partners/time sheets")
    result = submit(store, [long_id, nul, long_subject, spaced, event(5)])

    assert result.journaled == 1
    assert [rules(p) for p in result.rejected] == [
        {"id": "at most 64 characters"},
        {"description": "holds a NUL character (\\u0000), which the store cannot keep"},
        {"subject": "at most 120 characters"},
        {"source": "a URI reference holds no whitespace"},
    ]
    rows = journaled(store)
    assert [r["type"] for r in rows] == [SUBMIT_INVALID_TYPE] * 4 + [TYPE]
    assert CloudEvent.model_validate(rows[0]["envelope"]["data"]["event"]) == long_id
    assert rows[0]["envelope"]["subject"] == "te1"
    assert CloudEvent.model_validate(orjson.loads(rows[1]["envelope"]["data"]["event_json"])) == nul
    assert CloudEvent.model_validate(rows[2]["envelope"]["data"]["event"]) == long_subject
    assert rows[2]["subject"] is None
    assert CloudEvent.model_validate(rows[3]["envelope"]["data"]["event"]) == spaced
    # Kept once: submitting the same refused events again adds nothing.
    again = submit(store, [long_id, nul, long_subject, spaced])
    assert (again.journaled, again.duplicates, len(again.rejected)) == (0, 4, 4)
    with store.transaction() as conn:
        assert journal.counts(conn) == {journal.Status.PENDING: 5}
