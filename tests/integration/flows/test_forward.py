"""The forward flow end to end: submitted events → engine → webhook → a recording subscriber.

The subscriber applies each event once per idempotency key and records, per record (subject),
the order in which events were applied. Both backends.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlock.connectors.webhook import WebhookConfig, WebhookConnector
from interlock.engine import Engine, actions
from interlock.engine.ingest import SUBMIT_INVALID_TYPE, submit, submit_events
from interlock.events import CloudEvent
from interlock.flows import Forward
from interlock.serving import ThreadedServer
from interlock.store import Store, exception_queue, holds, journal, runs
from interlock.store.schema import audit_log, flow_runs, flow_steps
from interlock.store.schema import journal as journal_table

BASE = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
TYPE = "interlock.customer.changed.v1"
SOURCE = "/tests/forward"


class Subscriber:
    """A webhook endpoint: applies each event once per idempotency key, in arrival order.

    ``refuse`` holds event ids answered 422; ``throttle`` event ids answered 503 with
    ``Retry-After: 0`` once. On ``/stalled`` the event is applied at once but the answer waits
    for ``release`` (a worker that sent and then went quiet).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.reset()

    def reset(self) -> None:
        """Forget everything (the server outlives a test)."""
        with self.lock:
            self.posts: list[tuple[str, str, str, str]] = []  # (path, key, event source, id)
            self.applied: dict[str, str] = {}  # idempotency key → event id
            self.order: dict[str, list[str]] = collections.defaultdict(list)  # subject → ids
            self.refuse: set[str] = set()
            self.throttle: set[str] = set()
            self.release.clear()

    def app(self) -> Starlette:
        """Routes /events and /stalled."""
        return Starlette(
            routes=[
                Route("/events", self.receive, methods=["POST"]),
                Route("/stalled", self.receive, methods=["POST"]),
            ]
        )

    async def receive(self, request: Request) -> Response:
        """Apply one event unless its key was applied already; answer as configured."""
        body = orjson.loads(await request.body())
        key = request.headers["idempotency-key"]
        with self.lock:
            self.posts.append((request.url.path, key, body["source"], body["id"]))
            if body["id"] in self.refuse:
                return JSONResponse({"error": "name: not accepted here"}, 422)
            if body["id"] in self.throttle:
                self.throttle.discard(body["id"])
                return Response(status_code=503, headers={"Retry-After": "0"})
            if key in self.applied:
                return JSONResponse({"applied": False, "reason": "seen this key"})
            self.applied[key] = body["id"]
            self.order[body["subject"]].append(body["id"])
        if request.url.path == "/stalled":
            deadline = time.monotonic() + 10
            while not self.release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        return JSONResponse({"applied": True}, 201)

    def applied_ids(self) -> collections.Counter[str]:
        """How often each event was applied."""
        with self.lock:
            return collections.Counter(self.applied.values())

    def posts_of(self, event_id: str) -> int:
        """How often ``event_id`` was POSTed."""
        with self.lock:
            return sum(1 for _, _, _, posted in self.posts if posted == event_id)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ThreadedServer, Subscriber]]:
    subscriber = Subscriber()
    with ThreadedServer(subscriber.app()) as server:
        yield server, subscriber


@pytest.fixture
def sink(served: tuple[ThreadedServer, Subscriber]) -> Subscriber:
    served[1].reset()
    return served[1]


@pytest.fixture
def url(served: tuple[ThreadedServer, Subscriber]) -> str:
    return served[0].base_url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
def hub(store: Store) -> Iterator[Callable[..., Engine]]:
    """Make engines forwarding to an endpoint; their connectors are closed at the end."""
    made: list[WebhookConnector] = []

    def make(endpoint: str, **options: Any) -> Engine:
        hook = WebhookConnector("hook", WebhookConfig(base_url=endpoint, concurrency=16))
        made.append(hook)
        return Engine(store, {"hook": hook}, {"webhook": "hook"}, [Forward()], [], **options)

    yield make
    for hook in made:
        hook.close()


def customer_event(k: int, seq: int) -> CloudEvent:
    customer = f"customer_{k:02d}"
    return CloudEvent(
        id=f"evt-{k:02d}-{seq:02d}",
        source=SOURCE,
        type=TYPE,
        subject=customer,
        time=BASE + dt.timedelta(seconds=seq, milliseconds=k),
        data={"id": customer, "name": f"Customer {k} version {seq}"},
    )


def events(subjects: int, per_subject: int) -> list[CloudEvent]:
    """Sequence-major, as changes arrive: each subject's events in their order."""
    return [customer_event(k, s) for s in range(1, per_subject + 1) for k in range(subjects)]


def expected_order(batch: list[CloudEvent]) -> dict[str, list[str]]:
    order: dict[str, list[str]] = collections.defaultdict(list)
    for one in batch:
        assert one.subject is not None
        order[one.subject].append(one.id)
    return dict(order)


def counts(store: Store) -> tuple[dict[str, int], dict[str, int]]:
    with store.transaction() as conn:
        return journal.counts(conn), runs.counts(conn)


def statuses(store: Store) -> dict[str, str]:
    """Journal status by event id."""
    with store.transaction() as conn:
        rows = conn.execute(sa.select(journal_table.c.event_id, journal_table.c.status)).all()
    return {str(event_id): str(status) for event_id, status in rows}


def test_every_event_is_delivered_once_in_order_per_record(
    store: Store, sink: Subscriber, url: str, hub: Callable[..., Engine]
) -> None:
    sent = events(30, 10)
    invalid = customer_event(99, 1).model_copy(update={"id": "evt-bad", "data": {"id": "x"}})
    result = submit(store, [*sent, invalid])
    assert (result.journaled, len(result.rejected)) == (300, 1)

    engine = hub(f"{url}/events", batch=50)
    engine.run_until_idle()

    assert sink.applied_ids() == collections.Counter({e.id: 1 for e in sent})
    assert len(sink.posts) == 300  # nothing sent twice
    assert all(key == event_id for _, key, _, event_id in sink.posts)
    assert dict(sink.order) == expected_order(sent)
    # The refused submission is kept in the journal, never forwarded.
    assert counts(store) == (
        {journal.Status.DONE: 300, journal.Status.IGNORED: 1},
        {runs.RunStatus.SUCCEEDED: 300},
    )
    with store.transaction() as conn:
        kept = conn.execute(
            sa.select(journal_table.c.type).where(journal_table.c.event_id == "evt-bad")
        ).scalar_one()
        business_keys = set(conn.execute(sa.select(flow_runs.c.business_key)).scalars())
    assert kept == SUBMIT_INVALID_TYPE
    assert business_keys == {f"event:{SOURCE} {e.id}" for e in sent}


def test_a_refused_event_holds_its_record_and_the_rest_follow_after_retry_or_resolve(
    store: Store, sink: Subscriber, url: str, hub: Callable[..., Engine]
) -> None:
    sent = events(5, 4)
    order = expected_order(sent)
    retried, resolved = "customer_02", "customer_04"
    sink.refuse.update({"evt-02-02", "evt-04-03"})
    assert submit_events(store, sent) == 20
    engine = hub(f"{url}/events", batch=50)

    engine.run_until_idle()

    # Other records flowed; these two stopped at the refused event: the next one parked behind
    # the hold, and any after it waits behind that one.
    held = {retried, resolved}
    assert {k: v for k, v in sink.order.items() if k not in held} == {
        k: v for k, v in order.items() if k not in held
    }
    assert sink.order[retried] == ["evt-02-01"]
    assert sink.order[resolved] == ["evt-04-01", "evt-04-02"]
    assert sum(sink.posts_of(e) for e in ("evt-02-03", "evt-02-04", "evt-04-04")) == 0
    state = statuses(store)
    assert (state["evt-02-03"], state["evt-02-04"], state["evt-04-04"]) == (
        journal.Status.PARKED,
        journal.Status.PENDING,
        journal.Status.PARKED,
    )
    with store.transaction() as conn:
        problems = {p["business_key"]: p for p in exception_queue.listing(conn)}
        placed = {h["key"]: h for h in holds.listing(conn)}
    assert set(problems) == {f"event:{SOURCE} evt-02-02", f"event:{SOURCE} evt-04-03"}
    for problem in problems.values():
        assert problem["category"] == "rejected_by_target"
        assert problem["status"] == exception_queue.State.OPEN
        assert problem["last_error"]["status"] == 422
        assert "HTTP 422" in problem["reason"]
    assert {k: (h["flows"], h["parked"]) for k, h in placed.items()} == {
        retried: (["forward"], 1),
        resolved: (["forward"], 1),
    }
    assert counts(store)[1] == {runs.RunStatus.SUCCEEDED: 15, runs.RunStatus.FAILED: 2}

    # The subscriber is fixed; the operator retries one: it goes, then the ones behind it. The
    # other was fixed by hand at the subscriber: resolving it lets the ones behind it go.
    sink.refuse.clear()
    actions.retry(store, int(problems[f"event:{SOURCE} evt-02-02"]["id"]), "ops@example.com")
    actions.resolve(
        store, int(problems[f"event:{SOURCE} evt-04-03"]["id"]), "ops@example.com", "by hand"
    )
    engine.run_until_idle()

    assert sink.order[retried] == order[retried]
    assert sink.order[resolved] == ["evt-04-01", "evt-04-02", "evt-04-04"]
    by_hand = {e.id: 1 for e in sent if e.id != "evt-04-03"}
    assert sink.applied_ids() == collections.Counter(by_hand)
    assert sink.posts_of("evt-02-02") == 2  # refused once, then accepted
    assert sink.posts_of("evt-04-03") == 1  # refused once, never sent again
    assert counts(store) == (
        {journal.Status.DONE: 20},
        {runs.RunStatus.SUCCEEDED: 19, runs.RunStatus.FAILED: 1},
    )
    with store.transaction() as conn:
        closed = {p["business_key"]: p["status"] for p in exception_queue.listing(conn)}
        assert holds.listing(conn) == []
    assert closed == dict.fromkeys(problems, exception_queue.State.RESOLVED)


def test_a_503_with_retry_after_is_retried_and_delivered_once(
    store: Store, sink: Subscriber, url: str, hub: Callable[..., Engine]
) -> None:
    sent = events(10, 6)
    throttled = {e.id for e in sent[::7]}
    sink.throttle.update(throttled)
    assert submit_events(store, sent) == 60

    hub(f"{url}/events", batch=50).run_until_idle()

    assert sink.applied_ids() == collections.Counter({e.id: 1 for e in sent})
    assert dict(sink.order) == expected_order(sent)
    assert not sink.throttle  # each throttled event was refused once...
    assert {e: sink.posts_of(e) for e in throttled} == dict.fromkeys(throttled, 2)  # ...then sent
    assert counts(store) == ({journal.Status.DONE: 60}, {runs.RunStatus.SUCCEEDED: 60})
    with store.transaction() as conn:
        attempts = dict(
            conn.execute(
                sa.select(flow_runs.c.business_key, flow_steps.c.attempts).join(
                    flow_steps, flow_steps.c.run_id == flow_runs.c.id
                )
            ).all()
        )
    assert {k for k, n in attempts.items() if n == 2} == {f"event:{SOURCE} {e}" for e in throttled}
    assert set(attempts.values()) == {1, 2}


def test_a_worker_whose_lease_ran_out_does_not_make_the_subscriber_apply_twice(
    store: Store, sink: Subscriber, url: str, hub: Callable[..., Engine]
) -> None:
    sent = events(10, 2)
    assert submit_events(store, sent) == 20
    first = {e.id for e in sent[:10]}
    slow = hub(f"{url}/stalled", batch=50, lease=dt.timedelta(seconds=0.3), worker="worker-a")
    other = hub(f"{url}/events", batch=50, worker="worker-b")

    # Worker A claims the first events and sends them; the subscriber applies them, but the
    # answers do not come back before A's lease runs out.
    stuck = threading.Thread(target=slow.dispatch, name="worker-a")
    stuck.start()
    try:
        deadline = time.monotonic() + 10
        while set(sink.applied_ids()) != first:
            assert time.monotonic() < deadline, f"worker A sent {sink.applied_ids()}"
            time.sleep(0.01)
        time.sleep(0.5)  # A's lease (0.3 s) has run out
        other.run_until_idle()  # B takes the work over and sends the same events again
    finally:
        sink.release.set()
        stuck.join(timeout=15)
    assert not stuck.is_alive()
    slow.run_until_idle()  # A comes back: nothing is left for it

    assert sink.applied_ids() == collections.Counter({e.id: 1 for e in sent})
    assert dict(sink.order) == expected_order(sent)
    by_path = collections.defaultdict(set)
    for path, key, _, _ in sink.posts:
        by_path[path].add(key)
    # B sent A's events again under the same idempotency keys; the subscriber dropped them.
    assert by_path["/stalled"] == first
    assert by_path["/events"] == {e.id for e in sent}
    assert len(sink.posts) == 30
    assert counts(store) == ({journal.Status.DONE: 20}, {runs.RunStatus.SUCCEEDED: 20})
    with store.transaction() as conn:
        finishers = collections.Counter(
            conn.execute(
                sa.select(audit_log.c.actor).where(audit_log.c.action == "run.succeeded")
            ).scalars()
        )
    assert finishers == {"worker:worker-b": 20}


def test_events_of_two_sources_sharing_an_id_are_both_delivered_and_a_repeat_once(
    store: Store, sink: Subscriber, url: str, hub: Callable[..., Engine]
) -> None:
    # CloudEvents ids are unique per source only: "1001" from two partners is two events.
    first, second = (
        customer_event(k, 1).model_copy(update={"id": "1001", "source": f"/partners/{name}"})
        for k, name in ((1, "north"), (2, "south"))
    )
    assert submit_events(store, [first, second]) == 2
    with store.transaction() as conn:  # the same event taken in again by another way in
        assert len(journal.append_many(conn, [(first, "nats:events:/partners/north 1001")])) == 1

    hub(f"{url}/events", batch=50).run_until_idle()

    assert sorted((source, event_id) for _, _, source, event_id in sink.posts) == [
        ("/partners/north", "1001"),
        ("/partners/south", "1001"),
    ]
    assert counts(store) == ({journal.Status.DONE: 3}, {runs.RunStatus.SUCCEEDED: 2})
