"""Alembic migrations, run from code (``interlock db upgrade``) without an alembic.ini."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from interlock.store.database import wrap_errors


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to ``engine`` and our migration scripts."""
    config = Config()
    config.set_main_option("script_location", "interlock.store:migrations")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision``."""
    with wrap_errors("migrating the schema"):
        command.upgrade(alembic_config(engine), revision)


def current(engine: Engine) -> str | None:
    """The schema's current revision, or None when not migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
