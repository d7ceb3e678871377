from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.parsers import ParseError, parse_alerts
from services.ingest.parsers.aws_sns import AwsSnsParser
from tests.ingest.parsers.format_fuzz import reads_or_refuses, spoil
from tests.shared.strategies import EDGE_TIMES, FUZZ, JSON, TEXT, dumps

ARN = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:api errors"


def _alarm(**fields: Any) -> dict[str, Any]:
    return {
        "AlarmName": "api errors",
        "AlarmDescription": "errors from the API",
        "AWSAccountId": "111122223333",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 datapoint [5.0] was greater than the threshold (1.0).",
        "StateChangeTime": "2026-03-02T10:15:03.456+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": ARN,
        "OldStateValue": "OK",
        "Trigger": {
            "MetricName": "5XXError",
            "Namespace": "AWS/ApiGateway",
            "Dimensions": [{"value": "orders", "name": "ApiName"}],
        },
    } | fields


def _envelope(message: Any, **fields: Any) -> dict[str, Any]:
    body = message if isinstance(message, str) else dumps(message).decode()
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:alerts",
        "Subject": "ALARM",
        "Message": body,
        "Timestamp": "2026-03-02T10:15:04.000Z",
        "SignatureVersion": "1",
    } | fields


def _read(document: Any) -> Any:
    [alert] = parse_alerts(orjson.dumps(document), {})
    return alert


def test_an_alarm_in_an_envelope_is_normalized() -> None:
    alert = _read(_envelope(_alarm()))
    assert (alert.source, alert.format, alert.name, alert.status) == (
        "aws-sns",
        "aws.sns.cloudwatch",
        "api errors",
        "firing",
    )
    assert alert.starts_at == datetime(2026, 3, 2, 10, 15, 3, 456000, UTC)
    assert alert.labels == {
        "state": "ALARM",
        "region": "us-east-1",
        "account": "111122223333",
        "namespace": "AWS/ApiGateway",
        "metric": "5XXError",
        "ApiName": "orders",
    }
    assert alert.summary.startswith("Threshold Crossed") and alert.description == "errors from the API"
    assert alert.urls == {
        "source": "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/api%20errors"
    }
    # One state change is one occurrence, whichever topic or delivery brought it.
    assert alert.event_id is None
    assert alert.payload["sns"]["Subject"] == "ALARM" and alert.payload["AlarmArn"] == ARN


def test_ok_resolves_the_same_alarm_and_another_alarm_is_distinct() -> None:
    firing = _read(_envelope(_alarm()))
    resolved = _read(_envelope(_alarm(NewStateValue="OK"), MessageId="other"))
    other = _read(_envelope(_alarm(AlarmArn=ARN.replace("api errors", "db cpu"), AlarmName="db cpu")))
    assert resolved.status == "resolved"
    assert firing.fingerprint == resolved.fingerprint != other.fingerprint
    # The same alarm name in another account is another alarm.
    elsewhere = _read(_envelope(_alarm(AlarmArn=ARN.replace("111122223333", "444455556666"))))
    assert elsewhere.fingerprint != firing.fingerprint


def test_insufficient_data_fires_under_its_state() -> None:
    alert = _read(_envelope(_alarm(NewStateValue="INSUFFICIENT_DATA")))
    assert (alert.status, alert.labels["state"]) == ("firing", "INSUFFICIENT_DATA")


def test_raw_message_delivery_is_read_without_an_envelope() -> None:
    alert = _read(_alarm())
    assert alert.name == "api errors"
    assert alert.fingerprint == _read(_envelope(_alarm())).fingerprint


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (_envelope("plain text"), "not JSON"),
        (_envelope({"some": "event"}), "not a CloudWatch alarm"),
        (_envelope(_alarm(NewStateValue="BROKEN")), "NewStateValue"),
        (_envelope(_alarm(AlarmName="  ")), "AlarmName"),
        (_envelope(_alarm(StateChangeTime="2 March")), "StateChangeTime"),
        (_envelope(5), "not a CloudWatch alarm"),
        (_envelope(_alarm()) | {"Message": 5}, "Message must be a string"),
        (_envelope("", Type="SubscriptionConfirmation"), "SubscriptionConfirmation is not an alert"),
        (_envelope("", Type="UnsubscribeConfirmation"), "UnsubscribeConfirmation is not an alert"),
    ],
)
def test_what_is_not_an_alarm_is_refused_with_a_reason(document: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(orjson.dumps(document), {})


def test_accepts_only_sns_envelopes_and_alarms() -> None:
    parser = AwsSnsParser()
    assert parser.accepts(_envelope(_alarm()), {}) and parser.accepts(_alarm(), {})
    assert not parser.accepts({"Type": "Notification", "Message": "x"}, {})  # no TopicArn/MessageId
    assert not parser.accepts([_alarm()], {})


def _event(value: Any = "ALARM", previous: str = "OK", **detail: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e-1",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "111122223333",
        "time": "2026-03-02T10:15:03Z",
        "region": "us-east-1",
        "resources": [ARN],
        "detail": {
            "alarmName": "api errors",
            "state": {"value": value, "reason": "Threshold Crossed", "timestamp": "2026-03-02T10:40:00.000+0000"},
            "previousState": {"value": previous, "timestamp": "2026-03-02T10:15:03.456+0000"},
            "configuration": {
                "description": "errors from the API",
                "metrics": [{"metricStat": {"metric": {"namespace": "AWS/ApiGateway", "name": "5XXError"}}}],
            },
        }
        | detail,
    }


def test_an_eventbridge_alarm_event_resolves_the_alarm_it_ended() -> None:
    firing = _read(_envelope(_event(previous="OK") | {"detail": _event()["detail"]}))
    resolved = _read(_event("OK", previous="ALARM"))
    assert (firing.status, resolved.status) == ("firing", "resolved")
    # The OK event names when the ALARM began: the firing notification's start, so both key one episode.
    assert resolved.starts_at == datetime(2026, 3, 2, 10, 15, 3, 456000, UTC)
    assert resolved.ends_at == datetime(2026, 3, 2, 10, 40, tzinfo=UTC)
    # One alarm, whichever way CloudWatch told it: the SNS alarm message and the EventBridge event.
    assert resolved.fingerprint == firing.fingerprint == _read(_envelope(_alarm())).fingerprint
    assert firing.labels == {
        "state": "ALARM",
        "region": "us-east-1",
        "account": "111122223333",
        "namespace": "AWS/ApiGateway",
        "metric": "5XXError",
    }


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (_event(alarmName=""), "alarmName"),
        (_event("MAYBE"), "state.value"),
        (_event(state="nope"), "detail.state must be an object"),
        (_event() | {"detail": []}, "detail must be an object"),
        (_event(alarmName="x", **{"state": {"value": "OK", "timestamp": "yesterday"}}), "state.timestamp"),
    ],
)
def test_a_malformed_alarm_event_is_refused_with_a_reason(document: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_alerts(orjson.dumps(document), {})


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    event = _event(
        draw(st.sampled_from(["ALARM", "OK", "INSUFFICIENT_DATA"]) | TEXT),
        previous=draw(st.sampled_from(["ALARM", "OK"]) | TEXT),
    )
    spoil(draw, event["detail"], ["alarmName", "state", "previousState", "configuration"])
    spoil(draw, event["detail"]["state"] if isinstance(event["detail"].get("state"), dict) else {}, ["timestamp"])
    spoil(draw, event, ["resources", "detail", "region"])
    return _envelope(event) if draw(st.booleans()) else event


@FUZZ
@given(document=events())
def test_alarm_events_never_raise_anything_but_a_parse_error(document: dict[str, Any]) -> None:
    reads_or_refuses(document, {}, "aws.sns.cloudwatch")


@st.composite
def notifications(draw: st.DrawFn) -> dict[str, Any]:
    alarm: dict[str, Any] = _alarm(
        AlarmName=draw(TEXT),
        NewStateValue=draw(st.sampled_from(["ALARM", "OK", "INSUFFICIENT_DATA"]) | TEXT),
        StateChangeTime=draw(EDGE_TIMES | st.sampled_from(["2026-03-02T10:15:03.456+0000"])),
        AlarmArn=draw(st.just(ARN) | TEXT),
        Trigger=draw(st.just({"Dimensions": [{"name": "a", "value": 1}, "x"]}) | JSON),
    )
    spoil(draw, alarm, ["AlarmName", "NewStateValue", "StateChangeTime", "AlarmArn", "Trigger", "AlarmDescription"])
    if draw(st.booleans()):
        return alarm
    envelope = _envelope(alarm)
    spoil(draw, envelope, ["Type", "MessageId", "TopicArn", "Message"])
    return envelope


@FUZZ
@given(document=notifications())
def test_never_raises_anything_but_a_parse_error(document: dict[str, Any]) -> None:
    reads_or_refuses(document, {}, "aws.sns.cloudwatch")
