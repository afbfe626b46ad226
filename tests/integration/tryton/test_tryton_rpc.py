"""The JSON-RPC session against a real server: re-login, errors, values, secrets.

The tests share one Tryton per backend, each with a deal of its own; the one that stops the
server gets a server of its own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from interlock.connectors.tryton import TrytonConnector
from interlock.connectors.tryton.template import Template
from interlock.exceptions import AuthenticationFailed, ConnectorUnavailable, RecordRejected

from .conftest import make_deal, running_tryton
from .support import Deal, Mobilise, PostTime, TrytonEnv


@pytest.fixture(scope="module")
def tryton(
    tryton_templates: dict[str, Future[Template]],
    tryton_backend: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TrytonEnv]:
    """One Tryton for the module."""
    folder = tmp_path_factory.mktemp("tryton")
    with running_tryton(tryton_templates, tryton_backend, folder) as env:
        yield env


@pytest.fixture
def deal() -> Deal:
    """A deal of this test's own."""
    return make_deal(f"_{uuid.uuid4().hex[:8]}")


def test_an_expired_session_is_renewed_with_one_new_login(tryton: TrytonEnv, deal: Deal) -> None:
    connector = tryton.connector
    connector.upsert("customer", deal.customer)
    logins = connector.rpc.logins
    stale = connector.rpc._auth_headers()
    logout = {"id": 1, "method": "common.db.logout", "params": []}
    ended = httpx.post(
        f"{tryton.server.base_url}/{tryton.database.name}/rpc/", json=logout, headers=stale
    )
    assert ended.status_code == 200

    assert connector.find("customer", deal.customer.id) is not None
    assert connector.rpc.logins == logins + 1


def test_a_refused_password_is_authentication_failed_without_the_secret(
    tryton: TrytonEnv,
) -> None:
    config = tryton.config.model_copy(update={"password": SecretStr("not-the-password")})
    connector = TrytonConnector("tryton", config)
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            connector.authenticate()
    finally:
        connector.close()
    assert caught.value.status == 401
    assert "not-the-password" not in str(caught.value)
    assert "not-the-password" not in repr(config) + repr(connector.rpc)


def test_time_for_a_consultant_who_left_is_rejected_with_trytons_message(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise, post_time: PostTime
) -> None:
    ids = mobilise(deal)
    employee = ids.employees["cons_ada"]
    tryton.person.write("company.employee", [employee], {"end_date": dt.date(2000, 1, 31)})
    lines = tryton.count("timesheet.line")

    with pytest.raises(RecordRejected) as caught:
        post_time(ids, deal.time(days=1))

    assert caught.value.code == "UserError"
    assert "Employee" in caught.value.message
    assert not caught.value.retryable
    assert tryton.count("timesheet.line") == lines  # one create call: all or nothing


def test_a_task_without_timesheet_is_rejected_before_writing(
    tryton: TrytonEnv, deal: Deal, mobilise: Mobilise
) -> None:
    ids = mobilise(deal)
    entry = deal.time(days=1)[0]
    refs = {
        "task": str(ids.project),
        "employee": str(ids.employees[deal.base(entry.consultant_id)]),
    }

    with pytest.raises(RecordRejected, match="not available on timesheets"):
        tryton.connector.upsert("time_entry", entry, refs)


def test_typed_values_travel_both_ways(tryton: TrytonEnv, deal: Deal, mobilise: Mobilise) -> None:
    ids = mobilise(deal)
    rpc = tryton.connector.rpc
    task = ids.tasks["task_build"]
    rpc.write(
        "project.work",
        [task],
        {"effort_duration": dt.timedelta(hours=12, minutes=30), "list_price": Decimal("99.95")},
    )

    (row,) = rpc.read("project.work", [task], ["effort_duration", "list_price", "create_date"])

    assert row["effort_duration"] == dt.timedelta(hours=12, minutes=30)
    assert row["list_price"] == Decimal("99.95")
    assert row["create_date"].tzinfo is dt.UTC
    assert abs(row["create_date"] - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_a_stopped_server_is_connector_unavailable(
    tryton_templates: dict[str, Future[Template]],
    tryton_backend: str,
    tmp_path: Path,
    deal: Deal,
) -> None:
    with running_tryton(tryton_templates, tryton_backend, tmp_path) as own:
        own.connector.authenticate()
        own.server.stop()

        with pytest.raises(ConnectorUnavailable) as read:
            own.connector.find("customer", deal.customer.id)
        with pytest.raises(ConnectorUnavailable) as write:
            own.connector.upsert("customer", deal.customer)

    assert read.value.retryable
    assert write.value.retryable
