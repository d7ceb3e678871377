"""Prometheus Alertmanager webhook payload, version 4: one alert per element of ``alerts``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import (
    alert_list,
    each_alert,
    gather_urls,
    labels_fingerprint,
    list_length,
    normalize_severity,
    optional_string,
    parse_status,
    parse_time,
    source_of,
    string_map,
)


class AlertmanagerParser:
    """Reads ``{"version": "4", "alerts": [...], ...}`` as Alertmanager's webhook receiver sends it."""

    format = "alertmanager.v4"
    source = "alertmanager"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """An Alertmanager v4 webhook body: ``version`` "4" and an ``alerts`` list."""
        # Grafana sends the same shape with version "1" and different semantics; it is not ours.
        return isinstance(document, dict) and document.get("version") == "4" and "alerts" in document

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """The length of ``alerts`` (1 when it is not a list: ``parse`` refuses it)."""
        return list_length(document.get("alerts"))

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """One alert per element of ``alerts``, an invalid element refused on its own (``RefusedAlert`` naming it and
        its field); the source is the source header's, else ``alertmanager``. ``ParseError`` when the message
        itself is invalid."""
        alerts = alert_list(document, self.format)
        external_url = optional_string(document.get("externalURL"), "alertmanager.v4: externalURL")
        group_status = document.get("status")
        source = source_of(headers, self.source)
        return each_alert(
            alerts,
            "alertmanager.v4: alerts",
            lambda item, where: self._alert(item, where, source, group_status, external_url),
        )

    def _alert(self, item: Any, where: str, source: str, group_status: Any, external_url: str | None) -> Alert:
        if not isinstance(item, Mapping):
            raise ParseError(f"{where} must be an object, got {type(item).__name__}")
        labels = string_map(item.get("labels"), f"{where}.labels")
        annotations = string_map(item.get("annotations"), f"{where}.annotations")
        name = labels.get("alertname", "").strip()
        if not name:
            raise ParseError(f"{where}.labels.alertname is required")
        fingerprint = optional_string(item.get("fingerprint"), f"{where}.fingerprint")
        generator_url = optional_string(item.get("generatorURL"), f"{where}.generatorURL")
        return Alert(
            source=source,
            format=self.format,
            status=parse_status(item.get("status", group_status), where),
            name=name,
            severity=normalize_severity(labels.get("severity")),
            severity_original=labels.get("severity"),
            summary=annotations.get("summary", ""),
            description=annotations.get("description", ""),
            labels=labels,
            annotations=annotations,
            # Alertmanager always sends one; other senders of this format may not.
            fingerprint=fingerprint or labels_fingerprint(labels),
            starts_at=parse_time(item.get("startsAt"), f"{where}.startsAt"),
            ends_at=parse_time(item.get("endsAt"), f"{where}.endsAt"),
            generator_url=generator_url,
            external_url=external_url,
            urls=gather_urls(
                generator=generator_url,
                source=external_url,
                runbook=annotations.get("runbook_url"),
                dashboard=annotations.get("dashboard_url"),
            ),
            payload=dict(item),
        )
