from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from interlock.api.app import create_api
from interlock.sandbox.server import SandboxServer
from interlock.store import Store


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    s = Store(sqlite_url)
    yield s
    s.close()


def test_readiness_follows_the_schema_and_health_does_not(store: Store) -> None:
    with (
        SandboxServer(create_api(store)) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        assert client.get("/healthz").json() == {"status": "ok"}
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        assert "interlock db upgrade" in not_ready.json()["detail"]
        store.upgrade()
        assert client.get("/readyz").json() == {"status": "ready", "schema": "0005"}
        status = client.get("/api/v1/status").json()
        assert status["runs"] == {}
        assert status["cycle_time_seconds"]["count"] == 0
        assert client.get("/api/v1/runs").json() == {"items": [], "count": 0}
        missing = client.get("/api/v1/runs/nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
