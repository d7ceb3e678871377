"""CloudEvents 1.0: one structured event, a JSON batch of them, or binary mode (``ce_*`` headers, the body is data).

The content type decides the mode (``cloudevents_content``). Each event is one alert: its name, severity and status
come from the event's ``data`` (``title``/``alertname``/``rule``, ``severity``/``priority``, ``status``), else from
the extensions of the same names, else the name is the event's ``type``. A known emitter's data is read its own way:
a Falco detection (Falcosidekick's ``cloudevents`` output) by ``falco_events``.

Identity: the fingerprint (what dedup and resolved alerts match on) is ``data.fingerprint`` when the sender gives one,
else a hash of the event's source, type, subject and name with everything in ``data`` and the extensions except what
changes on every notification of one alert (status, free text, times, trace context). So two events whose data
differ in anything else (another user, host, process) are two alerts, and an event with nothing but its attributes
is its own alert (its id is the only thing that tells it apart).

The notification's identity (``schemas.identity.occurrence``) is the event's source and id, unless ``data`` gives
the alert's start (``startsAt`` and the like): then the start, so a resolved event finds its firing event's run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.alert import Alert, AlertStatus
from services.ingest.parsers.canonical import canonical_json
from services.ingest.parsers.cloudevents_content import (
    CORE_ATTRIBUTES,
    HEADER_PREFIX,
    binary_event,
    content_mode,
    event_data,
    event_time,
)
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.falco_events import is_falco_detection, read_detection
from services.ingest.parsers.fields import (
    each_alert,
    gather_urls,
    list_length,
    normalize_severity,
    optional_string,
    original_severity,
    parse_time,
    source_of,
    stable_hash,
    string_map,
)

__all__ = ["HEADER_PREFIX", "CloudEventsParser"]

REQUIRED = ("id", "source", "type")
#: Where an event's data (then its extensions) names the alert and gives its severity, first found wins.
NAME_KEYS = ("title", "alertname", "alert_name", "rule", "rule_name")
SEVERITY_KEYS = ("severity", "priority")
START_KEYS = ("startsAt", "starts_at", "startedAt", "started_at")
#: Data members that change between notifications of one alert, or only describe it: left out of its identity so a
#: repeat (or the resolved notification) of an alert keeps its fingerprint.
UNSTEADY_DATA = frozenset(
    ("status", "summary", "description", "message", "text", "fingerprint", "time", "timestamp", "ts", "date",
     "datetime", "count", "occurrences", "uuid")
)  # fmt: skip
UNSTEADY_SUFFIXES = ("_at", "At", "_time", "Time", "_ts", "timestamp", "Timestamp")
#: Extensions that differ per event, not per alert: trace context, sequence numbers, alertmesh's own ids.
UNSTEADY_EXTENSIONS = frozenset(("traceparent", "tracestate", "sequence", "correlationid", "causationid"))


#: Status words senders put in a CloudEvent's data, beyond alertmesh's own firing/resolved.
STATUS_SYNONYMS: dict[str, AlertStatus] = {
    "firing": "firing", "triggered": "firing", "open": "firing", "active": "firing", "alerting": "firing",
    "problem": "firing", "fired": "firing",
    "resolved": "resolved", "closed": "resolved", "ok": "resolved", "recovered": "resolved", "inactive": "resolved",
    "normal": "resolved",
}  # fmt: skip


@dataclass(frozen=True)
class Reading:
    """What an event's data says about its alert, before it becomes one."""

    name: str
    severity: Any
    status: AlertStatus
    summary: str
    labels: dict[str, str]
    fingerprint: str
    description: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    #: When the alert itself started (``data.startsAt`` and the like), as opposed to when the event was sent.
    started: datetime | None = None


class CloudEventsParser:
    """Maps each CloudEvent of a message to one alert (see the module's docstring for how)."""

    format = "cloudevents"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """A CloudEvent: a CloudEvents content type, ``ce_specversion`` (binary mode) or ``specversion`` in the body
        (or in a JSON array's first element: a batch)."""
        return content_mode(document, headers) is not None

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One alert per event: a batch's length, else 1."""
        return list_length(document) if content_mode(document, headers) == "batch" else 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """One alert per event; in a batch, an invalid event is refused on its own (its index named) and the others
        still count. ``ParseError`` when the message itself is no valid event or batch."""
        mode = content_mode(document, headers)
        if mode == "batch":
            if not isinstance(document, list):
                raise ParseError(f"cloudevents: a batch must be a JSON array of events, got {_kind(document)}")
            if not document:
                raise ParseError("cloudevents: the batch holds no events")
            return each_alert(document, "cloudevents: batch", lambda item, where: self._alert(item, where, headers))
        event = binary_event(document, headers) if mode == "binary" else document
        return [self._alert(event, "cloudevents", headers)]

    def _alert(self, event: Any, where: str, headers: Mapping[str, str]) -> Alert:
        if not isinstance(event, Mapping):
            raise ParseError(f"{where}: a structured event must be a JSON object, got {_kind(event)}")
        _check_attributes(event, where)
        data = event_data(event, where)
        source = event["source"]
        subject = optional_string(event.get("subject"), f"{where}: subject")
        extensions = {key: value for key, value in event.items() if key not in CORE_ATTRIBUTES}
        if is_falco_detection(data):
            reading = _falco_reading(data, extensions, f"{where}: data")
        else:
            reading = _reading(event, data, subject, extensions, where)
        if subject is not None:
            reading.labels["subject"] = subject
        sent_at = event_time(event.get("time"), where)
        if sent_at is None and is_falco_detection(data):
            sent_at = parse_time(data.get("time"), f"{where}: data.time")
        # An alert whose data gives its own start is identified by it, as Alertmanager's are: its firing and resolved
        # notifications are two events (two ids) of one occurrence, and the resolved one must find the firing run.
        # Otherwise source + id identify it (spec: identical source and id are duplicates, other ids other events).
        identity = {} if reading.started else {"event_source": source, "event_id": event["id"]}
        return Alert(
            source=source_of(headers, source),
            format=self.format,
            status=reading.status,
            name=reading.name,
            severity=normalize_severity(reading.severity),
            severity_original=original_severity(reading.severity),
            summary=reading.summary,
            description=reading.description,
            labels=reading.labels,
            annotations=reading.annotations,
            fingerprint=reading.fingerprint,
            starts_at=reading.started or sent_at,
            urls=reading.urls,
            payload=dict(event),
            **identity,
        )


def _check_attributes(event: Mapping[str, Any], where: str) -> None:
    if "specversion" not in event:
        raise ParseError(f"{where}: no specversion: a structured event is a JSON object with the event's attributes")
    if event.get("specversion") != "1.0":
        raise ParseError(f"{where}: unsupported specversion {event.get('specversion')!r} (need '1.0')")
    for attribute in REQUIRED:
        if not isinstance(event.get(attribute), str) or not event[attribute]:
            raise ParseError(f"{where}: required attribute '{attribute}' is missing or not a string")


def _falco_reading(data: Mapping[str, Any], extensions: Mapping[str, Any], where: str) -> Reading:
    """A Falco detection: the rule is the name, its priority the severity, its output the summary."""
    detection = read_detection(data, where)
    labels = extension_labels(extensions)
    labels.update(detection.labels)
    return Reading(
        name=detection.rule,
        severity=detection.priority or extensions.get("priority"),
        status="firing",  # Falco detections have no resolved state
        summary=detection.output,
        labels=labels,
        fingerprint=detection.fingerprint,
    )


def _reading(
    event: Mapping[str, Any], data: Any, subject: str | None, extensions: Mapping[str, Any], where: str
) -> Reading:
    """Any other event: ``data``'s alert fields when it is an object, the extensions' otherwise."""
    body: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    name = _first_string(body, NAME_KEYS) or _first_string(extensions, NAME_KEYS) or event["type"]
    labels = extension_labels(extensions)
    labels.update({key: value for key, value in body.items() if isinstance(value, str)})
    text = data.strip() if isinstance(data, str) else ""
    given = optional_string(body.get("fingerprint"), f"{where}: data.fingerprint")
    return Reading(
        name=name,
        severity=_first_present(body, SEVERITY_KEYS) or _first_present(extensions, SEVERITY_KEYS),
        status=_status(body.get("status"), f"{where}: data"),
        summary=_first_string(body, ("summary", "title", "message")) or text,
        description=_first_string(body, ("description",)) or "",
        labels=labels,
        annotations=string_map(body.get("annotations"), f"{where}: data.annotations"),
        fingerprint=given or event_fingerprint(event, data, subject, name, extensions),
        urls=gather_urls(source=body.get("url"), runbook=body.get("runbook_url"), dashboard=body.get("dashboard_url")),
        started=_started(body, where),
    )


def event_fingerprint(
    event: Mapping[str, Any], data: Any, subject: str | None, name: str, extensions: Mapping[str, Any]
) -> str:
    """The alert's identity: source, type, subject, name and the steady part of data and extensions; the event's id
    too when nothing else tells this event apart (no subject, no data, no name of its own, no extensions)."""
    steady_data = _steady(data) if isinstance(data, Mapping) else data
    steady_extensions = {key: value for key, value in extensions.items() if key not in UNSTEADY_EXTENSIONS}
    material = canonical_json([steady_data, steady_extensions])
    parts = [event["source"], event["type"], subject or "", name, material]
    if material is None:  # data no canonical text can hold (nested past JSON's depth): this event, only itself
        parts[-1] = f"id:{event['id']}"
    elif subject is None and not steady_data and not steady_extensions and name == event["type"]:
        parts.append(f"id:{event['id']}")
    return stable_hash(parts)


def extension_labels(extensions: Mapping[str, Any]) -> dict[str, str]:
    """The extensions routing can match on: every string, number or boolean one but the per-event ones."""
    labels: dict[str, str] = {}
    for key, value in extensions.items():
        if key in UNSTEADY_EXTENSIONS or isinstance(value, Mapping | list) or value is None:
            continue
        labels[key] = value if isinstance(value, str) else json.dumps(value)
    return labels


def _steady(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in data.items()
        if key not in UNSTEADY_DATA and not (isinstance(key, str) and key.endswith(UNSTEADY_SUFFIXES))
    }


def _started(data: Mapping[str, Any], where: str) -> datetime | None:
    """The alert's own start, when its data gives one under a name of ``START_KEYS``."""
    for key in START_KEYS:
        if data.get(key) not in (None, ""):
            return parse_time(data[key], f"{where}: data.{key}")
    return None


def _status(value: Any, where: str) -> AlertStatus:
    """``data.status``: firing when absent, a word of ``STATUS_SYNONYMS``, else refused naming the words read."""
    if value is None or value == "":
        return "firing"
    status = STATUS_SYNONYMS.get(value.strip().lower()) if isinstance(value, str) else None
    if status is None:
        words = ", ".join(sorted(STATUS_SYNONYMS))
        raise ParseError(f"{where}: status must be firing or resolved (or one of {words}), got {value!r}")
    return status


def _first_string(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` whose value is a non-blank string."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _first_present(data: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """The first of ``keys`` with a value that is not None or ''."""
    for key in keys:
        if data.get(key) not in (None, ""):
            return data[key]
    return None


def _kind(value: Any) -> str:
    return "a JSON array" if isinstance(value, list) else f"a JSON {type(value).__name__}"
