"""The connector guide is backed by the example connector, so it cannot drift from it.

Rule for code blocks in ``docs/connector-guide.md``: every ``python`` block appears verbatim
(up to a uniform indentation) in the example's files — its connector, its sandbox or its tests.
The one exception is the registry entry, which lives in ``connectors/__init__.py``: that block
is evaluated and must load the example's classes (and equal the registered entry, once there is
one). Every ``yaml`` topology block parses and builds the example connector.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

import pytest
import yaml

from interlock.connectors import CONNECTOR_TYPES, ConnectorType, build_connector
from interlock.connectors.base import Connector
from interlock.connectors.example import ExampleCrmConfig, ExampleCrmConnector, mapping
from interlock.docgen import render
from interlock.exceptions import ConfigError, ContractViolation, FieldProblem
from interlock.topology import parse_topology

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "connector-guide.md"
SOURCES = [
    *sorted((ROOT / "src/interlock/connectors/example").glob("*.py")),
    *sorted((ROOT / "src/interlock/sandbox/example").glob("*.py")),
    ROOT / "tests/integration/connectors/test_example_connector.py",
]


def blocks(language: str) -> list[str]:
    """The guide's fenced blocks of ``language``, fence indentation and common indent removed."""
    fence = re.compile(rf"^( *)```{language}\n(.*?)^\1```", re.S | re.M)
    found = []
    for indent, body in fence.findall(GUIDE.read_text(encoding="utf-8")):
        lines = [line.removeprefix(indent) for line in body.splitlines()]
        found.append(textwrap.dedent("\n".join(lines)).strip("\n"))
    return found


def is_registration(block: str) -> bool:
    return block.lstrip().startswith("ConnectorType(")


def appears_in(snippet: str, source: str) -> bool:
    """Whether ``snippet``'s lines are a run of ``source``'s lines, all indented alike."""
    wanted, lines = snippet.splitlines(), source.splitlines()
    for start, line in enumerate(lines):
        indent = line[: len(line) - len(wanted[0])]
        if not line.endswith(wanted[0]) or indent.strip():
            continue
        run = lines[start : start + len(wanted)]
        if run == [indent + w if w else "" for w in wanted]:
            return True
    return False


def registration() -> ConnectorType:
    [block] = [b for b in blocks("python") if is_registration(b)]
    entry = eval(block.rstrip().rstrip(","), {"ConnectorType": ConnectorType})
    assert isinstance(entry, ConnectorType)
    return entry


def prose() -> str:
    return " ".join(GUIDE.read_text(encoding="utf-8").split())


CODE = [b for b in blocks("python") if not is_registration(b)]


@pytest.mark.parametrize("snippet", CODE, ids=[b.splitlines()[0][:60] for b in CODE])
def test_every_python_block_is_the_examples_code(snippet: str) -> None:
    sources = [path.read_text(encoding="utf-8") for path in SOURCES]
    assert any(appears_in(snippet, source) for source in sources), (
        f"this block of {GUIDE.name} is not in the example's files:\n{snippet}"
    )


def test_the_guide_has_code_for_every_step() -> None:
    assert len(CODE) >= 15
    headings = re.findall(r"^## (\d)\. ", GUIDE.read_text(encoding="utf-8"), re.M)
    assert headings == [str(n) for n in range(1, 10)]


def test_the_registration_block_loads_the_example() -> None:
    entry = registration()
    connector, config = entry.load()
    assert (connector, config) == (ExampleCrmConnector, ExampleCrmConfig)
    assert entry.name == ExampleCrmConnector.type == "example_crm"
    assert CONNECTOR_TYPES.get(entry.name, entry) == entry


def test_every_topology_block_builds_the_example_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CONNECTOR_TYPES, "example_crm", registration())
    built = 0
    for block in blocks("yaml"):
        topology = parse_topology(yaml.safe_load(block), GUIDE.name)
        for name, spec in topology.systems.items():
            connector = build_connector(name, spec, {"EXAMPLE_CRM_API_KEY": "key-from-env"})
            try:
                assert isinstance(connector, ExampleCrmConnector)
                assert connector.config.api_key.get_secret_value() == "key-from-env"
                assert "key-from-env" not in repr(connector.config)
            finally:
                connector.close()
            built += 1
    assert built >= 1


def test_the_config_error_quoted_in_the_guide_is_the_one_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(CONNECTOR_TYPES, "example_crm", registration())
    [block] = [b for b in blocks("yaml") if "example_crm" in b]
    spec = parse_topology(yaml.safe_load(block)).systems["crm"]
    too_big = spec.model_copy(update={"options": {**spec.options, "page_size": 101}})
    with pytest.raises(ConfigError) as caught:
        build_connector("crm", too_big, {"EXAMPLE_CRM_API_KEY": "k"})
    assert f"`{caught.value}`" in prose()


def test_the_mapping_problem_quoted_in_the_guide_is_the_one_raised() -> None:
    deal = {
        "id": "dl_000001",
        "name": "Acme - Data Platform",
        "stage": "won",
        "value": {"amount": "1000.00", "currency": "XYZ"},
        "contract": {"starts_on": "2027-01-04", "ends_on": "2027-03-26", "billing": "hourly"},
        "line_items": [{"id": "li_000001", "role": "Architect", "hours": "8", "rate": "260"}],
        "updated_at": "2026-11-26T09:00:00.000000Z",
    }
    with pytest.raises(ContractViolation) as caught:
        mapping.opportunity_from_deal(deal, "crm")
    [problem] = caught.value.problems
    assert problem == FieldProblem("value.currency", "must be an ISO 4217 currency code, got 'XYZ'")
    assert f"`{problem}`" in prose()


def test_the_interface_table_lists_every_connector_method() -> None:
    methods = {
        name
        for name, member in inspect.getmembers(Connector, inspect.isfunction)
        if not name.startswith("_")
    }
    listed = set(re.findall(r"^\| `(\w+)\(", GUIDE.read_text(encoding="utf-8"), re.M))
    assert listed == methods


def test_the_reference_page_renders_from_the_example_spec() -> None:
    page = render(registration())
    assert "# `example_crm` connector" in page
    assert "Create the key in Example CRM for an integration user" in page
    assert "| `api_key` | credentials | `SecretStr` | required |" in page
    assert "| `page_size` | options | `int` | `100` | Records per list request" in page


def test_the_guides_links_point_at_files_that_exist() -> None:
    links = re.findall(r"\]\((\.\./[^)]+)\)", GUIDE.read_text(encoding="utf-8"))
    assert links
    for link in links:
        assert (GUIDE.parent / link).resolve().exists(), link
