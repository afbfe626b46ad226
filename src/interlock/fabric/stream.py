"""The hub's JetStream stream: created on first use, brought in line with the settings after."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from interlock.exceptions import ConfigError
from interlock.fabric.client import nats_module
from interlock.fabric.config import NatsSettings

if TYPE_CHECKING:
    from nats.js import JetStreamContext

log = logging.getLogger("interlock.fabric")

NAME_IN_USE = 10058  # JetStream: stream name already in use with a different configuration
SUBJECTS_OVERLAP = 10065  # JetStream: subjects overlap with an existing stream


def _wanted(settings: NatsSettings) -> dict[str, Any]:
    return {
        "subjects": list(settings.subjects),
        "duplicate_window": settings.duplicate_window_seconds,
        "max_age": settings.max_age_seconds or 0.0,
        "num_replicas": settings.replicas,
    }


def _differs(current: Any, wanted: dict[str, Any]) -> bool:
    return (
        set(current.subjects or []) != set(wanted["subjects"])
        or abs((current.duplicate_window or 0.0) - wanted["duplicate_window"]) > 1e-3
        or abs((current.max_age or 0.0) - wanted["max_age"]) > 1e-3
        or (current.num_replicas or 1) != wanted["num_replicas"]
    )


def _refused(exc: Any) -> ConfigError:
    key = "INTERLOCK_NATS_SUBJECTS" if exc.err_code == SUBJECTS_OVERLAP else "INTERLOCK_NATS_STREAM"
    return ConfigError("nats", key, f"JetStream refused the stream: {exc.description}")


async def ensure_stream(js: JetStreamContext, settings: NatsSettings) -> None:
    """Create the stream (file storage) or update it to the settings. Idempotent.

    Only the fields the settings own are changed (subjects, duplicate window, max age,
    replicas); anything an operator set by hand stays. A stream kept in memory is refused:
    the outbox marks messages published once JetStream has them, so they must survive a
    server restart.

    Raises:
        ConfigError: JetStream refused the configuration (e.g. the subjects overlap with
            another stream's) or the stream exists with memory storage.
    """
    api = nats_module("nats.js.api")
    errors = nats_module("nats.js.errors")
    wanted = _wanted(settings)
    try:
        info = await js.stream_info(settings.stream)
    except errors.NotFoundError:
        config = api.StreamConfig(name=settings.stream, storage=api.StorageType.FILE, **wanted)
        try:
            await js.add_stream(config)
            log.info("created stream %s for %s", settings.stream, ", ".join(settings.subjects))
            return
        except errors.BadRequestError as exc:
            if exc.err_code != NAME_IN_USE:  # another worker may have won the race
                raise _refused(exc) from None
        info = await js.stream_info(settings.stream)
    current = info.config
    if current.storage != api.StorageType.FILE:
        raise ConfigError(
            "nats", "INTERLOCK_NATS_STREAM", f"stream {settings.stream} must use file storage"
        )
    if _differs(current, wanted):
        try:
            await js.update_stream(current.evolve(**wanted))
        except errors.BadRequestError as exc:
            raise _refused(exc) from None
        log.info("updated stream %s to the settings", settings.stream)
