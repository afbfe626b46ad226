"""Limits from connector configs, usage headers, priorities by kind."""

from __future__ import annotations

import httpx
import pytest

from interlock.connectors.config import ConnectorConfig
from interlock.quota import (
    Learned,
    Limits,
    Priority,
    Window,
    current_priority,
    prioritized,
    priority_for_kind,
    read_limit_headers,
)


def test_limits_come_from_the_connector_config_quota_fields() -> None:
    config = ConnectorConfig(
        base_url="https://x.example",
        max_concurrency=5,
        reads_per_minute=200,
        writes_per_minute=100,
        daily_requests=15_000,
        max_quota_wait_seconds=3,
    )
    limits = Limits.from_settings(config, timeout=30)
    assert limits.max_concurrency == 5
    assert limits.windows == (
        Window("reads", 200, 60, "reads"),
        Window("writes", 100, 60, "writes"),
        Window("daily", 15_000, 86_400),
    )
    assert limits.max_wait == 3
    assert limits.lease_seconds > 30  # a slot outlives the longest request


def test_a_config_without_quota_fields_is_unlimited() -> None:
    limits = Limits.from_settings(ConnectorConfig(base_url="https://x.example"))
    assert limits.unlimited


def test_quota_fields_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        ConnectorConfig(base_url="https://x.example", max_concurrency=0)


def test_salesforce_usage_header_is_read() -> None:
    headers = httpx.Headers({"sforce-limit-info": "api-usage=18/5000"})
    assert read_limit_headers(headers, now=0) == Learned(limit=5000, used=18)
    app_part = {"Sforce-Limit-Info": "api-usage=25/15000; per-app-api-usage=17/250(appName=x)"}
    assert read_limit_headers(app_part, now=0) == Learned(limit=15000, used=25)


def test_x_ratelimit_headers_are_read_with_relative_or_epoch_reset() -> None:
    relative = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "20"}
    assert read_limit_headers(relative, now=1000.0) == Learned(100, 93, reset_at=1020.0)
    epoch = {**relative, "X-RateLimit-Reset": "1900000000"}
    assert read_limit_headers(epoch, now=1000.0) == Learned(100, 93, reset_at=1_900_000_000.0)


def test_responses_without_usage_headers_teach_nothing() -> None:
    assert read_limit_headers({"Content-Type": "application/json"}, now=0) is None
    assert read_limit_headers({"X-RateLimit-Limit": "lots"}, now=0) is None


def test_invoices_and_time_outrank_master_data() -> None:
    assert priority_for_kind("invoice") < priority_for_kind("time_entry")
    assert priority_for_kind("expense") == Priority.TIME
    assert priority_for_kind("time_entry") < priority_for_kind("assignment")
    assert priority_for_kind("assignment") < priority_for_kind("customer")


def test_a_prioritized_block_sets_the_priority_of_requests_inside_it() -> None:
    assert current_priority() is None
    with prioritized("invoice") as chosen:
        assert chosen == Priority.INVOICE
        with prioritized(Priority.MASTER_DATA):
            assert current_priority() == Priority.MASTER_DATA
        assert current_priority() == Priority.INVOICE
    assert current_priority() is None
