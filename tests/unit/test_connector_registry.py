from __future__ import annotations

import pytest

from interlock.connectors import CONNECTOR_TYPES, build_connector
from interlock.exceptions import ConfigError
from interlock.topology import parse_topology


@pytest.mark.parametrize("name", sorted(CONNECTOR_TYPES))
def test_every_registered_connector_loads_and_documents_its_settings(name: str) -> None:
    connector, config = CONNECTOR_TYPES[name].load()
    assert connector.type == name
    undocumented = [f for f, info in config.model_fields.items() if not info.description]
    assert undocumented == []


def test_a_bad_secret_is_named_but_never_shown() -> None:
    topology = parse_topology(
        {
            "systems": {
                "crm": {
                    "role": "crm",
                    "type": "salesforce",
                    "base_url": "https://acme.my.salesforce.com",
                    "credentials": {
                        "client_id": {"env": "SF_ID"},
                        "private_key_pem": {"env": "SF_KEY"},
                    },
                    "options": {"auth_flow": "jwt_bearer", "username": "hub@acme.example"},
                }
            }
        }
    )
    secret = "-----BEGIN PRIVATE KEY-----TOPSECRETBYTES"
    with pytest.raises(ConfigError) as caught:
        build_connector("crm", topology.systems["crm"], {"SF_ID": "abc", "SF_KEY": secret})
    assert caught.value.key.startswith("systems.crm.")
    assert "TOPSECRET" not in str(caught.value)
    assert "TOPSECRET" not in repr(caught.value.__cause__ or "")
