"""Limits the vendor tells us about in response headers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_API_USAGE = re.compile(r"api-usage\s*=\s*(\d+)\s*/\s*(\d+)", re.IGNORECASE)
_EPOCH_THRESHOLD = 1_000_000_000  # X-RateLimit-Reset above this is a Unix time, not seconds


@dataclass(frozen=True)
class Learned:
    """Usage the vendor reported: ``used`` of ``limit``, refilling at ``reset_at`` if known."""

    limit: int
    used: int
    reset_at: float | None = None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def read_limit_headers(headers: Mapping[str, str], now: float) -> Learned | None:
    """Usage from ``Sforce-Limit-Info: api-usage=n/limit`` or ``X-RateLimit-*`` headers.

    Args:
        headers: Response headers (case-insensitive mappings such as httpx's work best).
        now: Current time, to turn a relative ``X-RateLimit-Reset`` into an absolute one.
    """
    info = _header(headers, "Sforce-Limit-Info")
    if info:
        match = _API_USAGE.search(info)
        if match:
            return Learned(limit=int(match.group(2)), used=int(match.group(1)))
    limit = _number(_header(headers, "X-RateLimit-Limit"))
    remaining = _number(_header(headers, "X-RateLimit-Remaining"))
    if limit is None or remaining is None:
        return None
    reset = _number(_header(headers, "X-RateLimit-Reset"))
    reset_at = None
    if reset is not None:
        reset_at = reset if reset > _EPOCH_THRESHOLD else now + reset
    return Learned(limit=int(limit), used=max(0, int(limit - remaining)), reset_at=reset_at)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        # Some vendors list several windows ("100, 100;w=60"): the first one is the tightest.
        return float(value.split(",")[0].split(";")[0].strip())
    except ValueError:
        return None
