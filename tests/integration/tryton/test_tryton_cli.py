"""``interlock tryton init``: a usable Tryton from PyPI packages alone, safe to re-run."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from interlock.cli.tryton import tryton_app
from interlock.connectors.tryton import TrytonConfig, TrytonConnector
from interlock.connectors.tryton.server import TrytonDatabase, TrytonServer, free_port
from interlock.model import Customer

from .conftest import need_service


@pytest.mark.slow
def test_init_sets_up_a_database_our_connector_can_use(tmp_path: Path) -> None:
    if importlib.util.find_spec("trytond") is None:
        need_service("Tryton is not installed: pip install 'interlock[tryton]'")
    args = ["init", "--path", str(tmp_path), "--name", "cli_db", "--port", str(free_port())]
    args.append("--no-serve")
    env: dict[str, str | None] = {
        "INTERLOCK_TRYTON_PASSWORD": None,
        "INTERLOCK_TRYTON_ADMIN_PASSWORD": None,
    }

    first = CliRunner().invoke(tryton_app, args, env=env)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(tryton_app, args, env=env)
    assert again.exit_code == 0, again.output

    credentials = tmp_path / "credentials.env"
    assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600
    saved = dict(line.split("=", 1) for line in credentials.read_text().splitlines())
    assert saved["INTERLOCK_TRYTON_PASSWORD"] not in first.output + again.output
    database = TrytonDatabase("cli_db", "sqlite", tmp_path)
    with TrytonServer(database, tmp_path) as server:
        config = TrytonConfig(
            base_url=server.base_url,
            database="cli_db",
            password=SecretStr(saved["INTERLOCK_TRYTON_PASSWORD"]),
        )
        connector = TrytonConnector("tryton", config)
        try:
            connector.authenticate()
            assert connector.company.currency == "USD"
            result = connector.upsert("customer", Customer(id="cust_cli", name="Initech"))
            assert result.created
            assert connector.rpc.search("company.company", []) == [connector.company.id]
            assert len(connector.rpc.search("account.fiscalyear", [])) == 2
        finally:
            connector.close()
