"""Field helpers the vendor webhook formats (Datadog, PagerDuty, Opsgenie, Sentry, Splunk, Elastic) share: epoch
timestamps, tag lists, flat label maps and required sub-objects. ``fields`` holds what every parser uses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.ingest.parsers.errors import ParseError
from services.ingest.parsers.fields import parse_time

#: Above these, an epoch number is in nanoseconds, microseconds, milliseconds (else seconds): a date in seconds
#: passes 10**11 only in the year 5138, so the units cannot be confused for real times.
EPOCH_UNITS = ((10**17, 10**9), (10**14, 10**6), (10**11, 10**3))
#: Label values are capped so a sender's huge field cannot make every label set huge (the payload keeps it whole).
MAX_LABEL_VALUE = 1024


def epoch_or_rfc3339(value: Any, where: str) -> datetime | None:
    """A time as senders write it: epoch seconds, milliseconds or nanoseconds (a number or a string of digits,
    e.g. Datadog's ``$DATE``, Opsgenie's ``createdAt``, Splunk's ``_time``) or RFC 3339 text; None when absent."""
    if isinstance(value, bool):
        raise ParseError(f"{where}: timestamp must be a number or a string, got bool")
    if isinstance(value, str) and _is_number(value.strip()):
        value = float(value.strip())
    if not isinstance(value, int | float):
        return parse_time(value, where)
    divisor = next((unit for bound, unit in EPOCH_UNITS if abs(value) >= bound), 1)
    try:
        return datetime.fromtimestamp(value / divisor, UTC)
    except (OverflowError, OSError, ValueError):
        raise ParseError(f"{where}: epoch timestamp {value!r} is out of range") from None


def _is_number(text: str) -> bool:
    head, _, tail = text.partition(".")
    return bool(head) and head.isascii() and head.isdigit() and (not tail or (tail.isascii() and tail.isdigit()))


def mapping_at(document: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """``document[key]`` as an object; absent or null is empty, anything else a ``ParseError`` naming ``where``."""
    value = document.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ParseError(f"{where}.{key} must be an object, got {type(value).__name__}")
    return value


def text_at(document: Mapping[str, Any], key: str, where: str) -> str:
    """``document[key]`` as stripped text: strings as they are, numbers written out (ids senders send either way),
    absent or null as ""; anything else a ``ParseError`` naming ``where``."""
    value = document.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ParseError(f"{where}.{key} must be a string, got {type(value).__name__}")


def scalar_labels(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """The scalar entries of an object (strings, numbers, booleans) as labels; nested objects and lists stay in the
    payload only, since a label is one flat value to route on. Empty strings are left out: templates render a
    variable the sender lacks as "" (Kibana's ``{{context.x}}``, Datadog's unset ``$HOSTNAME``)."""
    labels: dict[str, str] = {}
    for key, value in values.items():
        if value == "":
            continue
        if isinstance(value, bool):
            labels[f"{prefix}{key}"] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            labels[f"{prefix}{key}"] = str(value)[:MAX_LABEL_VALUE]
    return labels


def tag_labels(tags: Any, where: str) -> dict[str, str]:
    """Tags as labels: ``key:value`` tags (Datadog, Opsgenie, Kibana) split at the first colon, a bare tag as
    ``tag:<name>`` = "true"; a list of strings or a comma-separated string; absent is empty."""
    if tags is None or tags == "":
        return {}
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ParseError(f"{where} must be a list of strings or a comma-separated string")
    labels: dict[str, str] = {}
    for tag in (tag.strip() for tag in tags):
        key, colon, value = tag.partition(":")
        if colon and key.strip():
            labels[key.strip()] = value.strip()[:MAX_LABEL_VALUE]
        elif tag:
            labels[f"tag:{tag}"[:MAX_LABEL_VALUE]] = "true"
    return labels


def required_text(document: Mapping[str, Any], key: str, where: str) -> str:
    """``text_at`` that must not be blank: the field identifies or names the alert."""
    text = text_at(document, key, where)
    if not text:
        raise ParseError(f"{where}.{key} is required")
    return text
