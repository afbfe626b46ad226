"""Configuration spec of the Float connector."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from interlock.connectors.config import ConnectorConfig

_CONTACT = re.compile(r"[^@\s()<>]+@[^@\s()<>]+\.[A-Za-z]{2,}")


class FloatConfig(ConnectorConfig):
    """Settings of a Float (resource scheduling) API v3 connection.

    Float authenticates with one static bearer token, issued by the account owner, and asks
    every client to name itself and a contact email in the ``User-Agent`` header.
    """

    base_url: str = Field(
        "https://api.float.com",
        description="Root URL of the Float API host; /v3 is added unless given.",
        examples=["https://api.float.com"],
        pattern=r"^https?://[^\s/]+",
    )
    access_token: SecretStr = Field(
        description="Float API access token (Account Settings → Integrations, account owner "
        "only). It acts as the account owner and stays valid until regenerated.",
    )
    user_agent: str = Field(
        description="Sent as User-Agent on every request: the application name and a contact "
        "email, as Float requires.",
        examples=["Interlock at Acme (ops@acme.example)"],
    )
    per_page: int = Field(200, ge=1, le=200, description="Page size of list requests (max 200).")
    reads_per_minute: int = Field(
        200, ge=2, description="GET requests the connector sends per rolling minute at most."
    )
    writes_per_minute: int = Field(
        100,
        ge=2,
        description="POST/PATCH/DELETE requests the connector sends per rolling minute at most.",
    )
    read_burst: int = Field(
        5,
        ge=1,
        description="GETs that may go out back to back after a quiet spell; the rest are spaced "
        "evenly so no rolling minute exceeds reads_per_minute.",
    )
    write_burst: int = Field(
        2, ge=1, description="Writes that may go out back to back after a quiet spell."
    )
    rate_limit_retry_seconds: float = Field(
        10.0,
        gt=0,
        description="Retry delay reported on HTTP 429 when Float sends no Retry-After.",
    )
    change_overlap_seconds: float = Field(
        120.0,
        ge=0,
        description="How far before the cursor each change read starts again, to catch records "
        "whose modified stamp is older than their visibility; re-read ones are skipped.",
    )
    modified_since_format: Literal["date", "datetime"] = Field(
        "date",
        description="'date' sends modified_since as YYYY-MM-DD (the documented form) and "
        "filters the rest of the day out locally; 'datetime' sends YYYY-MM-DD HH:MM:SS.",
    )
    deletion_scan_seconds: float = Field(
        60.0,
        ge=0,
        description="Least time between two full id scans that find deleted records (Float "
        "has no deleted feed); 0 scans on every change read.",
    )
    placeholder_day_hours: Decimal = Field(
        Decimal(8),
        gt=0,
        le=24,
        description="Most hours a day one placeholder allocation carries; a staffing demand "
        "needing more is split into parallel allocations of equal hours.",
    )

    @field_validator("user_agent")
    @classmethod
    def _names_app_and_contact(cls, value: str) -> str:
        contact = _CONTACT.search(value)
        if contact is None:
            raise ValueError("must contain a contact email, e.g. 'Interlock (ops@firm.example)'")
        name = (value[: contact.start()] + value[contact.end() :]).strip(" ()<>-,;")
        if not any(ch.isalpha() for ch in name):
            raise ValueError("must name the application before the contact email")
        return value.strip()
