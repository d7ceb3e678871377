"""The event contracts: checked-in JSON Schemas are current, and every event survives a wire round trip."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from schemas import (
    EVENTS,
    ActionReport,
    Alert,
    AlertEvent,
    DeadLetter,
    DeadLetterData,
    Result,
    Trigger,
    WorkflowResult,
    WorkflowTrigger,
    result_event_id,
)
from schemas.jsonschema import path_for, render

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ALERT = Alert(source="alertmanager", format="alertmanager.v4", status="firing", name="ProbeFailure", fingerprint="1a30")
ENVELOPE = {"id": "e-1", "source": "test", "time": NOW, "correlationid": "a-1", "causationid": "a-1"}


def sample_events() -> list[AlertEvent | WorkflowTrigger | WorkflowResult | DeadLetter]:
    trigger = Trigger(workflow="triage", idempotency_key="k", route="all", alert=ALERT)
    report = ActionReport(ref="a", action="core.transform.reshape", status="succeeded", result={"x": 1})
    result = Result(
        workflow="triage", workflow_id="k", run_id="r", status="completed", returns=[1], actions=[report],
        started_at=NOW, finished_at=NOW,
    )  # fmt: skip
    dead = DeadLetterData(stage="ingest.parse", reason="not JSON", original=b"\x00\xffnot json", original_topic="t")
    return [
        AlertEvent(**ENVELOPE, data=ALERT),
        WorkflowTrigger(**ENVELOPE, data=trigger),
        WorkflowResult(**ENVELOPE, data=result),
        DeadLetter(**ENVELOPE, data=dead),
    ]


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_checked_in_json_schema_is_current(event_type: str) -> None:
    assert path_for(event_type).read_bytes() == render(event_type), (
        f"{path_for(event_type).name} is stale: run `alertmesh schemas` and commit the result"
    )


@pytest.mark.parametrize("event", sample_events(), ids=lambda e: e.type)
def test_events_round_trip_through_json(event: AlertEvent) -> None:
    wire = event.to_json()
    assert type(event).from_json(wire) == event
    assert orjson.loads(wire)["specversion"] == "1.0"
    assert orjson.loads(wire)["type"] == type(event).TYPE


def test_dead_letter_keeps_original_bytes_exactly() -> None:
    dead = sample_events()[3]
    wire = orjson.loads(dead.to_json())
    assert wire["data"]["original"] == "AP9ub3QganNvbg=="  # base64 of the raw bytes
    assert DeadLetter.from_json(dead.to_json()).data.original == b"\x00\xffnot json"


def test_unknown_fields_and_wrong_types_are_rejected() -> None:
    wire = orjson.loads(sample_events()[0].to_json())
    with pytest.raises(ValidationError):
        AlertEvent.model_validate({**wire, "surprise": 1})
    with pytest.raises(ValidationError):
        AlertEvent.model_validate({**wire, "type": "alertmesh.trigger.v1"})


def test_result_event_id_is_deterministic_per_run() -> None:
    assert result_event_id("wf", "run-1") == result_event_id("wf", "run-1")
    assert result_event_id("wf", "run-1") != result_event_id("wf", "run-2")


def test_kafka_headers_name_the_event() -> None:
    headers = sample_events()[1].kafka_headers()
    assert headers["ce_type"] == "alertmesh.trigger.v1"
    assert headers["content-type"].startswith("application/cloudevents+json")
    assert headers["correlationid"] == "a-1"
