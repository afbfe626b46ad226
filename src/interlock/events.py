"""CloudEvents 1.0 envelopes for everything that moves through the hub.

Event types are versioned: ``interlock.<object>.<verb>.v<N>``. Two extension attributes follow a
deal through every system: ``correlationid`` (the same for every event caused by one deal) and
``causationid`` (the id of the event that directly caused this one).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SPEC_VERSION = "1.0"
_TYPE = re.compile(r"^interlock\.[a-z_]+(\.[a-z_]+)+\.v[0-9]+$")


def event_type(obj: str, verb: str, version: int = 1) -> str:
    """Build a versioned event type, e.g. ``interlock.opportunity.changed.v1``."""
    return f"interlock.{obj}.{verb}.v{version}"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope (JSON format) with Interlock's extensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: str = SPEC_VERSION
    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1)
    source: str = Field(min_length=1, description="URI-reference of the producing system.")
    type: str = Field(description="Versioned type, interlock.<object>.<verb>.v<N>.")
    subject: str | None = Field(None, description="Business key the event is about.")
    time: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("specversion")
    @classmethod
    def _spec(cls, value: str) -> str:
        if value != SPEC_VERSION:
            raise ValueError(f"must be {SPEC_VERSION!r}")
        return value

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if not _TYPE.match(value):
            raise ValueError("must look like interlock.<object>.<verb>.v<N>")
        return value

    @property
    def version(self) -> int:
        """The contract version carried in the type."""
        return int(self.type.rsplit(".v", 1)[1])

    def caused(
        self,
        type_: str,
        data: dict[str, Any],
        *,
        source: str = "/interlock",
        subject: str | None = None,
    ) -> CloudEvent:
        """A new event caused by this one: same correlation id, causation = this event's id."""
        return CloudEvent(
            source=source,
            type=type_,
            subject=subject if subject is not None else self.subject,
            correlationid=self.correlationid or self.id,
            causationid=self.id,
            data=data,
        )

    def to_json(self) -> dict[str, Any]:
        """The structured-mode JSON form, with ``time`` in RFC 3339."""
        return self.model_dump(mode="json", exclude_none=True)
