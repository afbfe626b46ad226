"""The topology file: which systems are connected, in which role, and which flows run.

Example::

    systems:
      crm:
        role: crm
        type: salesforce
        base_url: https://acme.my.salesforce.com
        credentials:
          client_id: {env: SF_CLIENT_ID}
          client_secret: {env: SF_CLIENT_SECRET}
        options:
          api_version: "62.0"
    flows:
      mobilize: {enabled: true}

Secrets are never written inline: every credential is ``{env: NAME}`` and read from the
environment at start. An invalid file fails at start with the file, the key and the rule.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interlock.exceptions import ConfigError


class Role(StrEnum):
    """The part a connected system plays."""

    CRM = "crm"
    PSA = "psa"
    SCHEDULER = "scheduler"
    ERP = "erp"
    LEGACY = "legacy"
    WEBHOOK = "webhook"


class EnvRef(BaseModel):
    """A reference to an environment variable holding a secret."""

    model_config = ConfigDict(extra="forbid")
    env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")


class SystemSpec(BaseModel):
    """One connected system."""

    model_config = ConfigDict(extra="forbid")
    role: Role
    also: list[Role] = Field(
        default_factory=list,
        description="Further roles the same system plays (a Tryton that is ERP and PSA).",
    )
    type: str = Field(min_length=1, description="Connector type, e.g. salesforce.")
    base_url: str = Field(
        pattern=r"^(https?://[^\s/]+|file:///\S*)",
        description="API root (http/https), or file:///folder for file-drop connectors.",
    )
    credentials: dict[str, EnvRef] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def roles(self) -> tuple[Role, ...]:
        """Every role this system plays, ``role`` first."""
        return (self.role, *(r for r in self.also if r != self.role))


class FlowSpec(BaseModel):
    """One flow's switch and settings."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)


class Topology(BaseModel):
    """The whole topology file."""

    model_config = ConfigDict(extra="forbid")
    systems: dict[str, SystemSpec] = Field(min_length=1)
    flows: dict[str, FlowSpec] = Field(default_factory=dict)

    def by_role(self, role: Role) -> str:
        """Name of the one system in ``role``. Raises ConfigError if there is none."""
        names = [name for name, spec in self.systems.items() if role in spec.roles]
        if not names:
            raise ConfigError("topology", "systems", f"no system has role {role.value!r}")
        return names[0]

    def enabled_flows(self) -> list[str]:
        """Names of enabled flows, in file order."""
        return [name for name, spec in self.flows.items() if spec.enabled]


def parse_topology(data: Any, source: str = "topology") -> Topology:
    """Validate topology data, raising ConfigError with the key path and the rule."""
    if not isinstance(data, Mapping):
        raise ConfigError(source, "(root)", "must be a mapping with 'systems' and 'flows'")
    _refuse_inline_secrets(data, source)
    try:
        return Topology.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in error["loc"]) or "(root)"
        raise ConfigError(source, key, str(error["msg"])) from None


def load_topology(path: Path) -> Topology:
    """Read and validate a topology file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "(file)", f"cannot be read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ConfigError(str(path), where, "is not valid YAML") from None
    return parse_topology(data, str(path))


_SECRET_WORDS = ("secret", "password", "token", "private_key", "api_key")


def _refuse_inline_secrets(data: Mapping[str, Any], source: str) -> None:
    systems = data.get("systems")
    if not isinstance(systems, Mapping):
        return
    for name, spec in systems.items():
        if not isinstance(spec, Mapping):
            continue
        for section in ("credentials", "options"):
            values = spec.get(section) or {}
            if not isinstance(values, Mapping):
                continue
            for key, value in values.items():
                inline = section == "credentials" and not isinstance(value, Mapping)
                secretish = section == "options" and any(w in str(key) for w in _SECRET_WORDS)
                if inline or secretish:
                    raise ConfigError(
                        source,
                        f"systems.{name}.{section}.{key}",
                        "secrets must be given as {env: VARIABLE}, never inline",
                    )


def resolve_credentials(
    name: str, spec: SystemSpec, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Read each credential from its environment variable; a missing one is a ConfigError."""
    env = os.environ if environ is None else environ
    resolved: dict[str, str] = {}
    for key, ref in spec.credentials.items():
        if ref.env not in env:
            raise ConfigError(
                "environment",
                f"systems.{name}.credentials.{key}",
                f"variable {ref.env} is not set",
            )
        resolved[key] = env[ref.env]
    return resolved
