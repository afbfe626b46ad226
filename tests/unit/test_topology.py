from __future__ import annotations

from pathlib import Path

import pytest

from interlock.exceptions import ConfigError
from interlock.settings import load_settings
from interlock.topology import Role, load_topology, parse_topology, resolve_credentials

GOOD = """
systems:
  crm:
    role: crm
    type: salesforce
    base_url: https://acme.my.salesforce.com
    credentials:
      client_id: {env: SF_CLIENT_ID}
      client_secret: {env: SF_CLIENT_SECRET}
  erp:
    role: erp
    type: netsuite
    base_url: https://123.suitetalk.api.netsuite.com
flows:
  mobilize: {enabled: true}
"""


def test_a_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "topology.yaml"
    path.write_text(GOOD)
    topology = load_topology(path)
    assert topology.by_role(Role.CRM) == "crm"
    assert topology.enabled_flows() == ["mobilize"]


@pytest.mark.parametrize(
    ("text", "key", "rule"),
    [
        (GOOD.replace("role: crm", "role: bank"), "systems.crm.role", "Input should be"),
        (
            GOOD.replace("https://acme.my.salesforce.com", "acme"),
            "systems.crm.base_url",
            "String should match pattern",
        ),
        (
            GOOD.replace("client_id: {env: SF_CLIENT_ID}", "client_id: abc"),
            "systems.crm.credentials.client_id",
            "never inline",
        ),
        (
            GOOD.replace("  mobilize: {enabled: true}", "  mobilize: {enabled: true, x: 1}"),
            "flows.mobilize.x",
            "Extra inputs are not permitted",
        ),
        ("systems: [", "line 1", "not valid YAML"),
        ("flows: {}", "systems", "Field required"),
    ],
)
def test_invalid_files_name_the_file_the_key_and_the_rule(
    tmp_path: Path, text: str, key: str, rule: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_topology(path)
    assert caught.value.source == str(path)
    assert caught.value.key == key
    assert rule in caught.value.rule


def test_secret_looking_options_are_refused() -> None:
    data = {
        "systems": {
            "x": {
                "role": "psa",
                "type": "kantata",
                "base_url": "http://h",
                "options": {"access_token": "abc"},
            }
        }
    }
    with pytest.raises(ConfigError, match=r"systems\.x\.options\.access_token"):
        parse_topology(data)


def test_credentials_come_from_the_environment_and_missing_ones_are_named() -> None:
    topology = parse_topology(
        {
            "systems": {
                "crm": {
                    "role": "crm",
                    "type": "salesforce",
                    "base_url": "http://h",
                    "credentials": {"client_secret": {"env": "SF_SECRET"}},
                }
            }
        }
    )
    spec = topology.systems["crm"]
    assert resolve_credentials("crm", spec, {"SF_SECRET": "s3cr3t"}) == {"client_secret": "s3cr3t"}
    with pytest.raises(ConfigError) as caught:
        resolve_credentials("crm", spec, {})
    assert caught.value.key == "systems.crm.credentials.client_secret"
    assert "SF_SECRET is not set" in caught.value.rule
    assert "s3cr3t" not in str(caught.value)


def test_settings_read_interlock_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERLOCK_DATABASE_URL", "sqlite:///x.sqlite")
    monkeypatch.setenv("INTERLOCK_WORKER_BATCH", "7")
    settings = load_settings()
    assert settings.database_url == "sqlite:///x.sqlite"
    assert settings.worker_batch == 7
    monkeypatch.setenv("INTERLOCK_WORKER_BATCH", "0")
    with pytest.raises(ConfigError, match="INTERLOCK_WORKER_BATCH"):
        load_settings()


def test_one_system_may_play_several_roles() -> None:
    topology = parse_topology(
        {
            "systems": {
                "crm": {"role": "crm", "type": "salesforce", "base_url": "http://c"},
                "tryton": {
                    "role": "erp",
                    "also": ["psa"],
                    "type": "tryton",
                    "base_url": "http://t",
                },
            }
        }
    )
    assert topology.systems["tryton"].roles == (Role.ERP, Role.PSA)
    assert topology.by_role(Role.ERP) == topology.by_role(Role.PSA) == "tryton"
    with pytest.raises(ConfigError, match=r"systems\.tryton\.also\.0"):
        parse_topology(
            {
                "systems": {
                    "tryton": {
                        "role": "erp",
                        "also": ["bank"],
                        "type": "tryton",
                        "base_url": "http://t",
                    }
                }
            }
        )
