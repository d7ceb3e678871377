"""Amazon CloudWatch alarms delivered by Amazon SNS to an HTTP/S subscription.

SNS posts a JSON envelope (``Type``, ``MessageId``, ``TopicArn``, ``Message``, ``Timestamp``, ``Signature``...)
whose ``Message`` is a string: for a CloudWatch alarm, the alarm's state change as JSON (``AlarmName``,
``NewStateValue`` ALARM/OK/INSUFFICIENT_DATA, ``StateChangeTime``, ``AlarmArn``, ``Trigger``...). With raw message
delivery on, the body is that alarm JSON alone; both are read, and so is an EventBridge "CloudWatch Alarm State
Change" event in either place (``aws_alarm_event``). ``SubscriptionConfirmation`` and
``UnsubscribeConfirmation`` envelopes are not alerts (the webhook answers them) and are refused here with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from schemas.alert import Alert, AlertStatus
from services.ingest.parsers.aws_alarm_event import event_alert, is_alarm_event, iso_offset
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import (
    gather_urls,
    optional_string,
    parse_time,
    source_of,
    stable_hash,
)

SNS_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
#: ALARM is the alarm firing, OK its end. INSUFFICIENT_DATA means the alarm cannot evaluate (its metric stopped
#: arriving): something to look at, so it fires too, under the state label saying which it is.
ALARM_STATUS: dict[str, AlertStatus] = {"ALARM": "firing", "INSUFFICIENT_DATA": "firing", "OK": "resolved"}
#: ``arn:aws:cloudwatch:<region>:<account>:alarm:<name>``
ALARM_ARN = re.compile(r"^arn:aws[a-z-]*:cloudwatch:(?P<region>[a-z0-9-]+):(?P<account>\d+):alarm:(?P<name>.+)$")


def is_alarm(document: Mapping[str, Any]) -> bool:
    """A CloudWatch alarm state change (SNS raw message delivery, or an envelope's ``Message``)."""
    return "AlarmName" in document and "NewStateValue" in document


class AwsSnsParser:
    """Reads CloudWatch alarm notifications from SNS, enveloped or raw."""

    format = "aws.sns.cloudwatch"
    source = "aws-sns"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """An SNS envelope (``Type`` one of SNS's, with ``TopicArn`` and ``MessageId``), a bare CloudWatch alarm, or
        an EventBridge CloudWatch alarm state change."""
        if not isinstance(document, dict):
            return False
        envelope = document.get("Type") in SNS_TYPES and "TopicArn" in document and "MessageId" in document
        return envelope or is_alarm(document) or is_alarm_event(document)

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One alarm per notification."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The alarm the notification carries; ``ParseError`` for a subscription message, a ``Message`` that is not
        a CloudWatch alarm, or an alarm missing what identifies it."""
        source = source_of(headers, self.source)
        if is_alarm_event(document):
            return [event_alert(document, source, self.format)]
        if "Type" not in document or is_alarm(document):
            return [self._alert(document, None, source)]
        kind = document["Type"]
        if kind != "Notification":
            raise ParseError(
                f"aws.sns: a {kind} is not an alert (the webhook confirms SNS subscriptions from its SubscribeURL)"
            )
        message = document.get("Message")
        if not isinstance(message, str):
            raise ParseError(f"aws.sns: Message must be a string, got {type(message).__name__}")
        try:
            alarm = orjson.loads(message)
        except orjson.JSONDecodeError:
            raise ParseError("aws.sns: Message is not JSON (only CloudWatch alarm notifications are read)") from None
        if isinstance(alarm, dict) and is_alarm_event(alarm):
            return [event_alert(alarm, source, self.format)]
        if not isinstance(alarm, dict) or not is_alarm(alarm):
            raise ParseError("aws.sns: Message is not a CloudWatch alarm (no AlarmName and NewStateValue)")
        return [self._alert(alarm, document, source)]

    def _alert(self, alarm: Mapping[str, Any], envelope: Mapping[str, Any] | None, source: str) -> Alert:
        name = optional_string(alarm.get("AlarmName"), "aws.sns: AlarmName")
        if name is None or not name.strip():
            raise ParseError("aws.sns: AlarmName is required")
        state = alarm.get("NewStateValue")
        if not isinstance(state, str) or state not in ALARM_STATUS:
            raise ParseError(f"aws.sns: NewStateValue must be ALARM, OK or INSUFFICIENT_DATA, got {state!r}")
        arn = optional_string(alarm.get("AlarmArn"), "aws.sns: AlarmArn")
        labels = alarm_labels(alarm, arn)
        reason = optional_string(alarm.get("NewStateReason"), "aws.sns: NewStateReason") or ""
        return Alert(
            source=source,
            format=self.format,
            status=ALARM_STATUS[state],
            name=name.strip(),
            # CloudWatch alarms have no severity.
            severity="unknown",
            summary=reason,
            description=optional_string(alarm.get("AlarmDescription"), "aws.sns: AlarmDescription") or "",
            labels=labels,
            # The alarm is what fires and ends: its ARN (account, region, name) is the same in ALARM and OK.
            fingerprint=stable_hash(("aws.cloudwatch", arn or f"{labels.get('account', '')}/{name.strip()}")),
            # The state change's time tells notifications apart. Not SNS's MessageId: one state change published to
            # two topics, an SNS retry and a raw delivery of it are one occurrence.
            starts_at=parse_time(iso_offset(alarm.get("StateChangeTime")), "aws.sns: StateChangeTime"),
            urls=gather_urls(source=console_url(labels, name.strip())),
            payload=dict(alarm) if envelope is None else {**alarm, "sns": _envelope_fields(envelope)},
        )


def alarm_labels(alarm: Mapping[str, Any], arn: str | None) -> dict[str, str]:
    """What routing matches on: account, region, state, and the metric and its dimensions when there is one."""
    labels: dict[str, str] = {"state": str(alarm["NewStateValue"])}
    match = ALARM_ARN.match(arn or "")
    if match:
        labels["region"], labels["account"] = match["region"], match["account"]
    elif isinstance(alarm.get("AWSAccountId"), str):
        labels["account"] = alarm["AWSAccountId"]
    trigger = alarm.get("Trigger")
    if isinstance(trigger, Mapping):
        for key, label in (("Namespace", "namespace"), ("MetricName", "metric")):
            if isinstance(trigger.get(key), str):
                labels[label] = trigger[key]
        dimensions = trigger.get("Dimensions")
        for dimension in dimensions if isinstance(dimensions, list) else []:
            if isinstance(dimension, Mapping) and isinstance(dimension.get("name"), str):
                labels[dimension["name"]] = str(dimension.get("value", ""))
    return labels


def console_url(labels: Mapping[str, str], name: str) -> str | None:
    """The alarm's page in the CloudWatch console, when its region is known."""
    region = labels.get("region")
    if not region:
        return None
    return f"https://console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{quote(name, safe='')}"


def _envelope_fields(envelope: Mapping[str, Any]) -> dict[str, Any]:
    # The envelope without its Message (kept parsed above) and its signature material.
    return {key: envelope[key] for key in ("Type", "MessageId", "TopicArn", "Subject", "Timestamp") if key in envelope}
