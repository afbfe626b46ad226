from __future__ import annotations

import interlock


def test_public_api_is_exactly_what_all_lists() -> None:
    exported = set(interlock.__all__)
    assert exported == {
        "CloudEvent",
        "Connector",
        "ConnectorConfig",
        "Decision",
        "Engine",
        "Flow",
        "InterlockError",
        "NativeChange",
        "RetryPolicy",
        "StepContext",
        "Store",
        "UpsertResult",
        "__version__",
        "event_type",
    }
    for name in exported:
        assert getattr(interlock, name) is not None
