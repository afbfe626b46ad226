from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from interlock.cli.main import app

runner = CliRunner()


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    result = runner.invoke(app, ["db", "upgrade"], env={"INTERLOCK_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert "schema at revision 0005" in result.output


def test_a_bad_database_url_is_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--database-url", "mysql://x/y"])
    assert result.exit_code == 2
    assert "INTERLOCK_DATABASE_URL" in result.output


def test_contracts_export_then_check_flags_a_breaking_change(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    assert runner.invoke(app, ["contracts", "export", str(old)]).exit_code == 0
    assert runner.invoke(app, ["contracts", "export", str(new)]).exit_code == 0
    same = runner.invoke(app, ["contracts", "check", str(old), str(new)])
    assert same.exit_code == 0
    assert "compatible" in same.output
    schema_file = new / "project.v1.schema.json"
    schema = json.loads(schema_file.read_text())
    del schema["properties"]["po_number"]
    schema["required"].append("practice")
    schema_file.write_text(json.dumps(schema))
    broken = runner.invoke(app, ["contracts", "check", str(old), str(new)])
    assert broken.exit_code == 1
    assert "project: field 'po_number' removed" in broken.output
    assert "practice" in broken.output


def test_worker_refuses_an_invalid_topology_naming_the_key(tmp_path: Path) -> None:
    topology = tmp_path / "t.yaml"
    topology.write_text("systems:\n  crm: {role: crm, type: nosuch, base_url: 'http://h'}\n")
    result = runner.invoke(
        app,
        [
            "worker",
            "--topology",
            str(topology),
            "--database-url",
            f"sqlite:///{tmp_path / 'x.sqlite'}",
        ],
    )
    assert result.exit_code == 2
    assert "systems.crm.type" in result.output
    assert "unknown connector type 'nosuch'" in result.output
