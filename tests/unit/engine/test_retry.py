from __future__ import annotations

import random

from interlock.engine.retry import RetryPolicy
from interlock.exceptions import ConnectorUnavailable, RateLimited, RecordRejected


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=1, max_seconds=20)
    rng = random.Random(1)
    error = ConnectorUnavailable("erp", "down")
    delays = [policy.delay(n, error, rng) for n in range(1, 8)]
    assert 0.5 <= delays[0] <= 1
    assert 4 <= delays[3] <= 8
    assert all(d <= 20 for d in delays)
    assert delays[6] >= 10


def test_retry_after_is_honoured() -> None:
    policy = RetryPolicy()
    assert policy.delay(1, RateLimited("crm", "slow down", retry_after=42)) == 42


def test_only_retryable_errors_are_retried_and_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(1, ConnectorUnavailable("erp", "down"))
    assert not policy.should_retry(3, ConnectorUnavailable("erp", "down"))
    assert not policy.should_retry(1, RecordRejected("erp", "bad"))
    assert not policy.should_retry(1, ValueError("bug"))
