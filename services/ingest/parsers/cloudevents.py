"""CloudEvents 1.0, structured JSON (``specversion`` in the body) or Kafka binary mode (``ce_*`` headers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import (
    gather_urls,
    normalize_severity,
    optional_string,
    original_severity,
    parse_status,
    parse_time,
    source_of,
    stable_hash,
    string_map,
)

REQUIRED = ("id", "source", "type")
#: The Kafka protocol binding prefixes every attribute header with this (binary content mode).
HEADER_PREFIX = "ce_"


def is_binary(headers: Mapping[str, str]) -> bool:
    """Binary mode: the attributes travel as ``ce_*`` headers and the body is the event's data."""
    return bool(headers.get(f"{HEADER_PREFIX}specversion"))


def binary_event(data: Any, headers: Mapping[str, str]) -> dict[str, Any]:
    """Rebuild the structured event from binary mode, so both modes parse (and store) the same way."""
    event: dict[str, Any] = {
        key[len(HEADER_PREFIX) :]: value for key, value in headers.items() if key.startswith(HEADER_PREFIX)
    }
    if headers.get("content-type"):
        event.setdefault("datacontenttype", headers["content-type"])
    # The body is the event's data, whatever JSON it is: ``parse`` says when it cannot describe an alert.
    event["data"] = data
    return event


class CloudEventsParser:
    """Maps a CloudEvent whose ``data`` object describes an alert (title/alertname, severity, status, ...)."""

    format = "cloudevents"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """A CloudEvent in binary mode (``ce_*`` headers) or structured mode (``specversion`` in the body)."""
        return is_binary(headers) or (isinstance(document, dict) and "specversion" in document)

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """A CloudEvent is one alert."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The one alert the event's ``data`` describes; ``ParseError`` when the event is not CloudEvents 1.0 with its
        required attributes and a JSON object as ``data``."""
        event = binary_event(document, headers) if is_binary(headers) else dict(document)
        if event.get("specversion") != "1.0":
            raise ParseError(f"cloudevents: unsupported specversion {event.get('specversion')!r} (need '1.0')")
        for attribute in REQUIRED:
            if not isinstance(event.get(attribute), str) or not event[attribute]:
                raise ParseError(f"cloudevents: required attribute '{attribute}' is missing or not a string")
        if "data_base64" in event:
            raise ParseError("cloudevents: data_base64 is not supported; send data as a JSON object")
        data = event.get("data", {})
        if not isinstance(data, Mapping):
            raise ParseError(f"cloudevents: data must be a JSON object, got {type(data).__name__}")
        return [self._alert(event, data, headers)]

    def _alert(self, event: Mapping[str, Any], data: Mapping[str, Any], headers: Mapping[str, str]) -> Alert:
        source, ce_type = event["source"], event["type"]
        subject = optional_string(event.get("subject"), "cloudevents: subject")
        name = _first_string(data, "title", "alertname") or ce_type
        labels = {key: value for key, value in data.items() if isinstance(value, str)}
        if subject is not None:
            labels["subject"] = subject
        fingerprint = optional_string(data.get("fingerprint"), "cloudevents: data.fingerprint")
        return Alert(
            source=source_of(headers, source),
            format=self.format,
            status=parse_status(data.get("status", "firing"), "cloudevents: data"),
            name=name,
            severity=normalize_severity(data.get("severity")),
            severity_original=original_severity(data.get("severity")),
            summary=_first_string(data, "summary", "title") or "",
            description=_first_string(data, "description") or "",
            labels=labels,
            annotations=string_map(data.get("annotations"), "cloudevents: data.annotations"),
            fingerprint=fingerprint or stable_hash((source, ce_type, subject or "", name)),
            starts_at=parse_time(event.get("time"), "cloudevents: time"),
            urls=gather_urls(
                source=data.get("url"), runbook=data.get("runbook_url"), dashboard=data.get("dashboard_url")
            ),
            payload=dict(event),
            # source + id is what identifies a CloudEvent (spec: identical source and id are duplicates).
            event_source=source,
            event_id=event["id"],
        )


def _first_string(data: Mapping[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` whose value is a non-blank string."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
