"""Prometheus's own alerts, as it posts them to an Alertmanager: the API v2 postable-alerts array
(``POST /api/v2/alerts`` body), ``[{"labels": {...}, "annotations": {...}, "startsAt": ..., "endsAt": ...,
"generatorURL": ...}]``.

The array has no status: Prometheus re-sends a firing alert every evaluation with ``endsAt`` a few evaluation
intervals ahead (4 x the rule group's interval), and a resolved one with ``endsAt`` at the time it resolved. So an
alert whose ``endsAt`` is already past when it is read is resolved, exactly as Alertmanager decides it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from schemas.alert import Alert, AlertStatus
from services.ingest.parsers.alertmanager import labelled_alert
from services.ingest.parsers.errors import RefusedAlert
from services.ingest.parsers.fields import (
    each_alert,
    gather_urls,
    normalize_severity,
    optional_string,
    parse_time,
    source_of,
)

#: FNV-1a 64-bit, as ``prometheus/common/model`` hashes a label set (``LabelSet.Fingerprint``).
FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211
#: Written after each label name and value, so {"ab": "c"} and {"a": "bc"} hash apart.
SEPARATOR = 0xFF


def alertmanager_fingerprint(labels: Mapping[str, str]) -> str:
    """The fingerprint Alertmanager gives an alert with these labels (16 hex digits, as its webhook's
    ``fingerprint``): an alert Prometheus posts here directly and the same alert relayed by an Alertmanager pair."""
    digest = FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8"):
                digest = ((digest ^ byte) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            digest = ((digest ^ SEPARATOR) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def status_at(ends_at: datetime | None, now: datetime) -> AlertStatus:
    """Resolved once ``endsAt`` has passed, firing before (and when there is none), as Alertmanager reads it."""
    return "resolved" if ends_at is not None and ends_at <= now else "firing"


class PrometheusParser:
    """Reads the JSON array Prometheus posts to an Alertmanager's ``/api/v2/alerts``."""

    format = "prometheus.v2"
    source = "prometheus"

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        # The record's receive time does not reach parsers: "now" is when ingest reads it (seconds later).
        self._clock = clock

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """A JSON array with an object holding a ``labels`` object, and no CloudEvent in it."""
        if not isinstance(document, list):
            return False
        # Any element, not only the first: a malformed first alert must not sink the valid ones after it.
        labelled = False
        for item in document:
            if isinstance(item, dict):
                if "specversion" in item:
                    return False
                labelled = labelled or isinstance(item.get("labels"), dict)
        return labelled

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One alert per element."""
        return len(document)

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """One alert per element, an invalid element refused on its own; the source is the source header's, else
        ``prometheus``."""
        source = source_of(headers, self.source)
        now = self._clock()
        return each_alert(document, "prometheus.v2: alerts", lambda item, where: self._alert(item, where, source, now))

    def _alert(self, item: Any, where: str, source: str, now: datetime) -> Alert:
        labels, annotations, name = labelled_alert(item, where)
        ends_at = parse_time(item.get("endsAt"), f"{where}.endsAt")
        generator_url = optional_string(item.get("generatorURL"), f"{where}.generatorURL")
        return Alert(
            source=source,
            format=self.format,
            status=status_at(ends_at, now),
            name=name,
            severity=normalize_severity(labels.get("severity")),
            severity_original=labels.get("severity"),
            summary=annotations.get("summary", ""),
            description=annotations.get("description", ""),
            labels=labels,
            annotations=annotations,
            fingerprint=alertmanager_fingerprint(labels),
            starts_at=parse_time(item.get("startsAt"), f"{where}.startsAt"),
            ends_at=ends_at,
            generator_url=generator_url,
            urls=gather_urls(
                generator=generator_url,
                runbook=annotations.get("runbook_url"),
                dashboard=annotations.get("dashboard_url"),
            ),
            payload=dict(item),
        )
