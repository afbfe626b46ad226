from __future__ import annotations

import pytest
from pydantic import ValidationError

from interlock.events import CloudEvent, event_type


def test_envelope_is_cloudevents_json_with_versioned_type() -> None:
    event = CloudEvent(
        source="/systems/salesforce",
        type=event_type("opportunity", "won"),
        subject="opportunity_1",
        data={"a": 1},
    )
    body = event.to_json()
    assert body["specversion"] == "1.0"
    assert body["type"] == "interlock.opportunity.won.v1"
    assert event.version == 1
    assert {"id", "source", "type", "time", "datacontenttype", "data"} <= set(body)
    assert CloudEvent.model_validate(body) == event


def test_caused_events_keep_the_correlation_and_point_to_their_cause() -> None:
    won = CloudEvent(
        source="/systems/salesforce", type="interlock.opportunity.won.v1", subject="opp"
    )
    project = won.caused("interlock.project.mobilized.v1", {"id": "p"})
    invoice = project.caused("interlock.invoice.posted.v1", {"id": "i"})
    assert project.correlationid == won.id
    assert invoice.correlationid == won.id
    assert invoice.causationid == project.id


@pytest.mark.parametrize(
    "bad",
    [
        "opportunity.won",
        "interlock.Opportunity.won.v1",
        "interlock.opportunity.won",
        "interlock.opportunity.won.vX",
    ],
)
def test_unversioned_or_malformed_types_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        CloudEvent(source="/x", type=bad)


def test_other_spec_versions_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"must be '1\.0'"):
        CloudEvent(specversion="0.3", source="/x", type="interlock.a.b.v1")
