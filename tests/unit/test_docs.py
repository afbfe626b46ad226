"""The examples in the README and docs are real: YAML parses, commands exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from interlock.cli.main import app
from interlock.topology import parse_topology

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for block in re.findall(rf"```{language}\n(.*?)```", path.read_text(), re.S):
            found.append((path.name, block))
    return found


@pytest.mark.parametrize(("doc", "block"), _blocks("yaml"))
def test_topology_examples_are_valid(doc: str, block: str) -> None:
    data = yaml.safe_load(block)
    if isinstance(data, dict) and "systems" in data:
        topology = parse_topology(data, doc)
        assert topology.systems


@pytest.mark.parametrize(("doc", "block"), _blocks("sh"))
def test_interlock_commands_in_the_docs_exist(doc: str, block: str) -> None:
    runner = CliRunner()
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if not words or not words[0].endswith("interlock"):
            continue
        command = [w for w in words[1:] if not w.startswith("-")][:2]
        result = runner.invoke(app, [*command, "--help"])
        if result.exit_code != 0:  # a positional argument, not a sub-command
            result = runner.invoke(app, [command[0], "--help"])
        assert result.exit_code == 0, f"{doc}: {line}"


def test_the_readme_starts_with_the_two_commands() -> None:
    first_screen = (ROOT / "README.md").read_text().splitlines()[:20]
    assert "./scripts/demo" in "\n".join(first_screen)
    assert "./scripts/test" in "\n".join(first_screen)
    for script in ("scripts/demo", "scripts/test", ".ci/run"):
        assert (ROOT / script).stat().st_mode & 0o111, f"{script} is not executable"
    assert "scripts/test" in (ROOT / ".ci/run").read_text()
