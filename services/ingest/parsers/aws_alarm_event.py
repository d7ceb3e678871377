"""CloudWatch alarm state changes as Amazon EventBridge events (``detail-type: CloudWatch Alarm State Change``),
delivered through SNS (an EventBridge rule targeting a topic) or posted raw.

Unlike the alarm message CloudWatch publishes to SNS itself, the event carries the previous state with its time:
an OK event that ends an ALARM names when that ALARM began, which is the firing notification's start, so the
resolved alert finds its firing run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from schemas.alert import Alert, AlertStatus
from services.ingest.parsers.errors import ParseError
from services.ingest.parsers.fields import gather_urls, optional_string, parse_time, stable_hash

DETAIL_TYPE = "CloudWatch Alarm State Change"
STATE_STATUS: dict[str, AlertStatus] = {"ALARM": "firing", "INSUFFICIENT_DATA": "firing", "OK": "resolved"}
#: The same identity the SNS alarm message gives (its ``AlarmArn``), so both paths name one alarm alike.
FINGERPRINT_NAMESPACE = "aws.cloudwatch"


def is_alarm_event(document: Mapping[str, Any]) -> bool:
    """An EventBridge CloudWatch alarm state change."""
    return document.get("source") == "aws.cloudwatch" and document.get("detail-type") == DETAIL_TYPE


def iso_offset(value: Any) -> Any:
    """CloudWatch's times ("2026-03-02T10:15:03.456+0000") with the colon RFC 3339 wants in the offset."""
    if isinstance(value, str) and re.search(r"[+-]\d{4}$", value):
        return f"{value[:-2]}:{value[-2:]}"
    return value


def _state(detail: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    state = detail.get(key)
    if state is None and key == "previousState":
        return {}
    if not isinstance(state, Mapping):
        raise ParseError(f"aws.cloudwatch event: detail.{key} must be an object")
    return state


def event_alert(event: Mapping[str, Any], source: str, format_name: str) -> Alert:
    """The alert an alarm state change event describes; ``ParseError`` naming what is missing or invalid."""
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise ParseError("aws.cloudwatch event: detail must be an object")
    name = (optional_string(detail.get("alarmName"), "aws.cloudwatch event: detail.alarmName") or "").strip()
    if not name:
        raise ParseError("aws.cloudwatch event: detail.alarmName is required")
    state, previous = _state(detail, "state"), _state(detail, "previousState")
    value = state.get("value")
    if not isinstance(value, str) or value not in STATE_STATUS:
        raise ParseError(
            f"aws.cloudwatch event: detail.state.value must be ALARM, OK or INSUFFICIENT_DATA, got {value!r}"
        )
    changed = parse_time(iso_offset(state.get("timestamp")), "aws.cloudwatch event: detail.state.timestamp")
    status = STATE_STATUS[value]
    began = changed
    if status == "resolved" and STATE_STATUS.get(str(previous.get("value"))) == "firing":
        began = parse_time(
            iso_offset(previous.get("timestamp")), "aws.cloudwatch event: detail.previousState.timestamp"
        )
    resources = event.get("resources")
    arn = resources[0] if isinstance(resources, list) and resources and isinstance(resources[0], str) else None
    labels = event_labels(event, detail, value)
    configuration = detail.get("configuration")
    description = configuration.get("description") if isinstance(configuration, Mapping) else None
    region = labels.get("region")
    console = (
        f"https://console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{quote(name, safe='')}"
        if region
        else None
    )
    return Alert(
        source=source,
        format=format_name,
        status=status,
        name=name,
        severity="unknown",
        summary=str(state.get("reason") or ""),
        description=description if isinstance(description, str) else "",
        labels=labels,
        fingerprint=stable_hash((FINGERPRINT_NAMESPACE, arn or f"{labels.get('account', '')}/{name}")),
        starts_at=began,
        ends_at=changed if status == "resolved" else None,
        urls=gather_urls(source=console),
        payload=dict(event),
    )


def event_labels(event: Mapping[str, Any], detail: Mapping[str, Any], state: str) -> dict[str, str]:
    """Account, region, state, and the first metric's namespace, name and dimensions when it has one."""
    labels = {"state": state}
    for key in ("region", "account"):
        if isinstance(event.get(key), str):
            labels[key] = event[key]
    configuration = detail.get("configuration")
    metrics = configuration.get("metrics") if isinstance(configuration, Mapping) else None
    first = metrics[0] if isinstance(metrics, list) and metrics and isinstance(metrics[0], Mapping) else {}
    stat = first.get("metricStat")
    metric = stat.get("metric") if isinstance(stat, Mapping) else None
    if isinstance(metric, Mapping):
        for key, label in (("namespace", "namespace"), ("name", "metric")):
            if isinstance(metric.get(key), str):
                labels[label] = metric[key]
        dimensions = metric.get("dimensions")
        if isinstance(dimensions, Mapping):
            labels.update({str(k): v for k, v in dimensions.items() if isinstance(v, str)})
    return labels
