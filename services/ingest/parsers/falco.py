"""Falco's JSON output, as Falco's HTTP output and Falcosidekick's ``webhook`` output post it: one detection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert
from services.ingest.parsers.errors import RefusedAlert
from services.ingest.parsers.falco_events import is_falco_detection, read_detection
from services.ingest.parsers.fields import (
    normalize_severity,
    optional_string,
    parse_time,
    source_of,
)


class FalcoParser:
    """Reads ``{"rule", "priority", "output", "output_fields", "time", ...}``: Falco's JSON detection."""

    format = "falco"
    source = "falco"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """A Falco detection: a ``rule`` beside ``output_fields`` (or ``output`` and ``priority``), no CloudEvent."""
        return isinstance(document, dict) and "specversion" not in document and is_falco_detection(document)

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """A detection is one alert."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The detection's alert: named after the rule, severity from Falco's priority, summary its output, labels
        its output fields (plus rule, priority, hostname, falco_source, tags); always firing (Falco has no resolve).
        ``ParseError`` naming the field that is not Falco's."""
        detection = read_detection(document, "falco")
        uuid = optional_string(document.get("uuid"), "falco.uuid")
        return [
            Alert(
                source=source_of(headers, self.source),
                format=self.format,
                status="firing",
                name=detection.rule,
                severity=normalize_severity(detection.priority),
                severity_original=detection.priority,
                summary=detection.output,
                labels=detection.labels,
                fingerprint=detection.fingerprint,
                starts_at=parse_time(document.get("time"), "falco.time"),
                payload=dict(document),
                # Falcosidekick gives each event a uuid: the same event posted twice is one, two events are two.
                event_source="falcosidekick" if uuid else None,
                event_id=uuid,
            )
        ]
