"""Process settings, read from ``INTERLOCK_*`` environment variables (and CLI options)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from interlock.exceptions import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///var/interlock.sqlite"


class Settings(BaseSettings):
    """Settings of an Interlock process. Each one is an ``INTERLOCK_<NAME>`` variable."""

    model_config = SettingsConfigDict(env_prefix="INTERLOCK_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL. sqlite:///path (embedded default) or "
        "postgresql+psycopg://user@host/db.",
    )
    topology: Path | None = Field(None, description="YAML topology file.")
    worker_batch: int = Field(100, ge=1, le=10_000, description="Events claimed per batch.")
    worker_poll_seconds: float = Field(0.5, gt=0, description="Idle wait between polls.")
    lease_seconds: float = Field(30.0, gt=0, description="How long a claim is held.")
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI options) on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        key = "INTERLOCK_" + str(error["loc"][0]).upper() if error["loc"] else "(settings)"
        raise ConfigError("environment", key, str(error["msg"])) from None
