"""Configuration spec of the Tryton connector."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, SecretStr

from interlock.connectors.config import ConnectorConfig


class TrytonConfig(ConnectorConfig):
    """Settings of a Tryton 8.2 server reached over JSON-RPC.

    ``base_url`` is the server root (``http://127.0.0.1:8000``); calls go to
    ``<base_url>/<database>/rpc/``. Use a dedicated Tryton user for Interlock: changes made
    under that user are recognised as our own writes and not read back as changes.
    """

    database: str = Field(
        description="Name of the Tryton database.",
        examples=["interlock"],
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
    )
    username: str = Field(
        "interlock", min_length=1, description="Login of the Tryton user Interlock acts as."
    )
    password: SecretStr = Field(description="Password of that user.")
    language: str = Field("en", description="Language code sent at login (messages, names).")
    company_name: str | None = Field(
        None,
        description="Name of the company to work in when the user has several; "
        "default: the user's current company.",
    )
    service_product: str | None = Field(
        None,
        description="Name of the service product (unit: hour) put on tasks; default: the "
        "first service product measured in hours.",
    )
    poll_overlap_seconds: float = Field(
        60.0,
        ge=0,
        le=3600,
        description="Changes are re-read this far behind the last stamp seen: PostgreSQL "
        "stamps a change when its transaction starts, so a long transaction can commit a "
        "stamp older than one already read.",
    )
    skip_own_writes: bool = Field(
        False,
        description="Leave records last written by our own Tryton user out of read_changes "
        "(by default they are read, and dropped and counted as echoes on ingestion).",
    )
    cost_prices_from: dt.date = Field(
        dt.date(2000, 1, 1),
        description="Date from which the first cost price of a new employee applies, so "
        "time booked before the employee reached Tryton is costed too.",
    )
