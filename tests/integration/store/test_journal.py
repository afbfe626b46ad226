from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from interlock.events import CloudEvent
from interlock.store import Store, journal, xref


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.upgrade()
    yield s
    s.close()


def _event(n: int) -> CloudEvent:
    return CloudEvent(
        source="/systems/crm",
        type="interlock.opportunity.changed.v1",
        subject=f"opp{n}",
        data={"n": n},
    )


def test_a_change_is_journaled_exactly_once(store: Store) -> None:
    with store.transaction() as conn:
        first = journal.append(conn, _event(1), "crm:opportunity:1:v1")
        again = journal.append(conn, _event(1), "crm:opportunity:1:v1")
        other = journal.append(conn, _event(1), "crm:opportunity:1:v2")
    assert first is not None
    assert again is None
    assert other is not None
    assert other > first
    with store.transaction() as conn:
        assert journal.counts(conn) == {"pending": 2}


def test_claims_are_exclusive_until_the_lease_runs_out(store: Store) -> None:
    with store.transaction() as conn:
        for n in range(5):
            journal.append(conn, _event(n), f"k{n}")
    lease = dt.timedelta(seconds=60)
    with store.transaction() as conn:
        a = journal.claim(conn, "a", 3, lease)
    with store.transaction() as conn:
        b = journal.claim(conn, "b", 10, lease)
    assert [e.event.subject for e in a] == ["opp0", "opp1", "opp2"]
    assert [e.event.subject for e in b] == ["opp3", "opp4"]
    with store.transaction() as conn:
        assert journal.claim(conn, "c", 10, lease) == []
        expired = journal.claim(conn, "c", 10, dt.timedelta(seconds=-1))
    assert expired == []
    with store.transaction() as conn:
        conn.execute(
            journal.journal.update().values(
                lease_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
        taken_over = journal.claim(conn, "c", 10, lease)
    assert len(taken_over) == 5
    assert all(e.attempts == 2 for e in taken_over)


def test_the_original_payload_is_kept_verbatim(store: Store) -> None:
    event = CloudEvent(
        source="/systems/crm",
        type="interlock.opportunity.won.v1",
        subject="o",
        data={"payload": {"Amount": 12.5, "Name": "Ünïcode"}},
    )
    with store.transaction() as conn:
        journal.append(conn, event, "k")
        [entry] = journal.claim(conn, "w", 1, dt.timedelta(seconds=5))
    assert entry.event == event


def test_cross_reference_round_trips(store: Store) -> None:
    with store.transaction() as conn:
        xref.link(conn, "project", "prj_1", "kantata", "991")
        xref.link(conn, "project", "prj_1", "netsuite", "42")
        xref.link(conn, "project", "prj_1", "netsuite", "43")
    with store.transaction() as conn:
        assert xref.native_id(conn, "project", "prj_1", "netsuite") == "43"
        assert xref.canonical_id(conn, "project", "kantata", "991") == "prj_1"
        assert xref.all_for(conn, "prj_1") == {"kantata": "991", "netsuite": "43"}


def test_the_open_entries_index_covers_exactly_the_open_states() -> None:
    from interlock.store.schema import OPEN_ENTRIES

    listed = OPEN_ENTRIES.split("IN (", 1)[1].rstrip(")").replace("'", "").split(", ")
    assert set(listed) == set(journal.Status.OPEN)
