"""Operators act on exceptions and holds over HTTP and from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from interlock.api.app import create_api
from interlock.cli.main import app
from interlock.engine import Engine, RetryPolicy, Source
from interlock.exceptions import RecordRejected
from interlock.flows import Mobilize
from interlock.sandbox.server import SandboxServer
from interlock.store import Store, audit, holds
from interlock.testing import InMemoryConnector

from ..engine.test_exceptions_holds import _map
from ..engine.test_mobilize_engine import deal


@pytest.fixture
def failed(sqlite_url: str) -> Iterator[tuple[Store, Engine, dict[str, InMemoryConnector]]]:
    store = Store(sqlite_url)
    store.upgrade()
    systems = {name: InMemoryConnector(name, _map) for name in ("crm", "psa", "erp")}
    engine = Engine(
        store,
        systems,
        {n: n for n in systems},
        [Mobilize()],
        [Source("crm", "opportunity")],
        policy=RetryPolicy(max_attempts=1),
    )
    systems["erp"].fail_next = [RecordRejected("erp", "HTTP 400: subsidiary is inactive")]
    systems["crm"].emit("opportunity", "opp1", 1, deal(1), verb="won")
    systems["crm"].emit("opportunity", "opp2", 1, deal(2), verb="won")
    systems["erp"].fail_next = [RecordRejected("erp", "HTTP 400: subsidiary is inactive")]
    engine.run_until_idle(timeout=20)
    yield store, engine, systems
    store.close()


def test_exceptions_are_listed_and_acted_on_over_http(
    failed: tuple[Store, Engine, dict[str, InMemoryConnector]],
) -> None:
    store, engine, _ = failed
    with (
        SandboxServer(create_api(store)) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        listed = client.get("/api/v1/exceptions", params={"status": "open"}).json()
        assert listed["count"] == 1
        item = listed["items"][0]
        assert item["category"] == "rejected_by_target"
        assert "subsidiary is inactive" in item["reason"]
        no_actor = client.post(f"/api/v1/exceptions/{item['id']}/retry", json={})
        assert no_actor.status_code == 400
        assert "actor" in no_actor.json()["detail"]
        [hold] = client.get("/api/v1/holds").json()["items"]
        assert hold["flows"] == ["post_time", "staffing"]
        retried = client.post(f"/api/v1/exceptions/{item['id']}/retry", json={"actor": "ops@firm"})
        assert retried.json()["status"] == "retrying"
        engine.run_until_idle(timeout=20)
        assert client.get(f"/api/v1/exceptions/{item['id']}").json()["status"] == "resolved"
        assert client.get("/api/v1/holds").json()["count"] == 0
        again = client.post(f"/api/v1/exceptions/{item['id']}/skip", json={"actor": "ops@firm"})
        assert again.status_code == 409
        edit = client.post(
            f"/api/v1/exceptions/{item['id']}/edit", json={"actor": "ops@firm", "payload": {}}
        )
        assert edit.status_code == 503  # edits need the topology's flows and connectors
        assert "topology" in edit.json()["detail"]
    with store.transaction() as conn:
        actions = [e["action"] for e in audit.entries(conn, subject=f"exception:{item['id']}")]
    assert "exception.retry" in actions


def test_holds_are_released_from_the_command_line(
    failed: tuple[Store, Engine, dict[str, InMemoryConnector]], sqlite_url: str
) -> None:
    store, _, _ = failed
    with store.transaction() as conn:
        hold_id = holds.place(conn, "project_x", ["post_time"], "finance review", None)
    runner = CliRunner()
    env: dict[str, Any] = {"INTERLOCK_DATABASE_URL": sqlite_url, "COLUMNS": "200"}
    listed = runner.invoke(app, ["holds", "list"], env=env)
    assert listed.exit_code == 0
    assert "project_x" in listed.output
    released = runner.invoke(app, ["holds", "release", str(hold_id), "--actor", "kim"], env=env)
    assert released.exit_code == 0, released.output
    assert '"released"' in released.output
    twice = runner.invoke(app, ["holds", "release", str(hold_id), "--actor", "kim"], env=env)
    assert twice.exit_code == 1
    assert "already released" in twice.output
    shown = runner.invoke(app, ["exceptions", "list"], env=env)
    assert "rejected_by_target" in shown.output
