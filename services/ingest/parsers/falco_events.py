"""What a Falco detection says, whichever way it arrives: Falco's JSON output (``json_output``, its HTTP output,
Falcosidekick's ``webhook`` output) or the ``data`` of the CloudEvent Falcosidekick's ``cloudevents`` output sends.

A detection is ``{"rule", "priority", "output", "output_fields", "time", "source", "hostname", "tags", "uuid"}``
(Falco writes all but ``uuid``, which Falcosidekick adds). Its identity (the fingerprint, hence dedup) is the rule,
the host, the event source and the output fields *without* the ones that change on every event (the event's time,
its sequence number, a Kubernetes audit id): so the same rule firing again for the same container, process, file and
user is one alert, and anything the rule's output shows that differs (another container, another process id,
another file) is another alert. Falco's ``output`` text is not part of it: it starts with the event's time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.ingest.parsers.canonical import canonical_json
from services.ingest.parsers.errors import ParseError
from services.ingest.parsers.fields import optional_string, stable_hash

#: Output fields that differ on every event of one detection: Falco's event time in each of its spellings, the
#: event's sequence number and latency, and the Kubernetes audit event's own id.
VOLATILE_FIELD_PREFIXES = (
    "evt.time",
    "evt.rawtime",
    "evt.datetime",
    "evt.reltime",
    "evt.outputtime",
    "evt.deltatime",
    "evt.latency",
    "evt.num",
    "ka.auditid",
)


@dataclass(frozen=True)
class FalcoDetection:
    """A Falco detection, read: what the alert is called, how severe, its labels and its identity."""

    rule: str
    priority: str | None
    output: str
    labels: dict[str, str]
    fingerprint: str


def is_falco_detection(data: Any) -> bool:
    """Whether ``data`` is a Falco detection: a ``rule`` with the ``output_fields`` or the ``output`` Falco writes
    beside it (cheap; never raises)."""
    return (
        isinstance(data, Mapping)
        and isinstance(data.get("rule"), str)
        and ("output_fields" in data or ("output" in data and "priority" in data))
    )


def read_detection(data: Mapping[str, Any], where: str) -> FalcoDetection:
    """The detection ``data`` describes; ``ParseError`` naming the field (under ``where``) that is not Falco's."""
    rule = data["rule"].strip()
    if not rule:
        raise ParseError(f"{where}.rule is empty (Falco names the rule that fired)")
    fields = data.get("output_fields") or {}
    if not isinstance(fields, Mapping):
        raise ParseError(f"{where}.output_fields must be an object, got {type(fields).__name__}")
    priority = optional_string(data.get("priority"), f"{where}.priority")
    hostname = optional_string(data.get("hostname"), f"{where}.hostname")
    event_source = optional_string(data.get("source"), f"{where}.source")
    labels = {key: _label_text(value) for key, value in fields.items() if value is not None}
    labels.update(_context_labels(rule, priority, hostname, event_source, data.get("tags")))
    return FalcoDetection(
        rule=rule,
        priority=priority,
        output=optional_string(data.get("output"), f"{where}.output") or "",
        labels=labels,
        fingerprint=detection_fingerprint(rule, hostname, event_source, fields, data),
    )


def detection_fingerprint(
    rule: str, hostname: str | None, event_source: str | None, fields: Mapping[str, Any], data: Mapping[str, Any]
) -> str:
    """The detection's identity: rule, host, event source and the output fields that do not change per event."""
    steady = {key: value for key, value in fields.items() if not key.startswith(VOLATILE_FIELD_PREFIXES)}
    # Sorted keys: the same fields in any order give the same text, and a value's type counts (4242 is not "4242").
    material = canonical_json(steady)
    if material is None:  # fields no text can hold: this event alone (its uuid, time and output), never merged
        material = "event:" + "\x1f".join(str(data.get(key)) for key in ("uuid", "time", "output"))
    return stable_hash(("falco", rule, hostname or "", event_source or "", material))


def _context_labels(
    rule: str, priority: str | None, hostname: str | None, event_source: str | None, tags: Any
) -> dict[str, str]:
    """Labels routing matches on besides the output fields: rule, priority, host, event source and tags."""
    context = {"rule": rule, "priority": priority, "hostname": hostname, "falco_source": event_source}
    labels = {key: value for key, value in context.items() if value}
    if isinstance(tags, list) and tags:
        labels["tags"] = ",".join(sorted(str(tag) for tag in tags))
    return labels


def _label_text(value: Any) -> str:
    """An output field as label text: strings as they are, numbers and booleans as JSON writes them, and lists (e.g.
    ``proc.aname[2]`` as arrays in newer Falco) as JSON."""
    if isinstance(value, str):
        return value
    return canonical_json(value) or "<too deeply nested>"
