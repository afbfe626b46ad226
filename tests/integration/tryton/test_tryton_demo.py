"""``interlock demo --erp tryton``: the lifecycle against a real Tryton, from the command line."""

from __future__ import annotations

import shutil
from concurrent.futures import Future
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interlock.cli.main import app
from interlock.connectors.tryton.template import Template, template_key

from .conftest import ADMIN_PASSWORD, USER_PASSWORD


@pytest.mark.parametrize("tryton_backend", ["sqlite"], indirect=True)
def test_the_tryton_demo_bills_every_time_and_materials_project_exactly(
    tryton_templates: dict[str, Future[Template]], tryton_backend: str, tmp_path: Path
) -> None:
    # The demo builds its template once; here it gets a copy of the tests' template instead.
    template = tryton_templates[tryton_backend].result()
    key = template_key("sqlite", ADMIN_PASSWORD, template.setup)
    cache = tmp_path / "cache"
    (cache / f"tryton-sqlite-{key}").mkdir(parents=True)
    shutil.copyfile(template.database.file, cache / f"tryton-sqlite-{key}" / "template.sqlite")
    secrets = (
        f"admin={ADMIN_PASSWORD.get_secret_value()}\nuser={USER_PASSWORD.get_secret_value()}\n"
    )
    (cache / "credentials.env").write_text(secrets)
    args = ["demo", "--erp", "tryton", "--deals", "4", "--seed", "9"]
    args += ["--tryton-cache", str(cache), "--database", str(tmp_path / "demo.sqlite")]

    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    out = result.output
    assert "Building the Tryton template" not in out
    assert "INV-" in out
    assert "✓" in out
    assert "✗" not in out
    assert _row(out, "Failed runs") == "0"
    assert _row(out, "Person's change in Tryton recorded") == "yes"
    lines, entries = (
        _row(out, "Timesheet lines in Tryton (hours)"),
        _row(out, "Approved time entries published"),
    )
    assert lines.split()[0] == entries != "0"
    assert USER_PASSWORD.get_secret_value() not in out


def _row(output: str, label: str) -> str:
    line = next(ln for ln in output.splitlines() if label in ln)
    return line.split("│")[-2].strip()
