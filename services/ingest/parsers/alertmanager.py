"""Prometheus Alertmanager webhook payload, version 4: one alert per element of ``alerts``.

The notification's own fields (``receiver``, ``groupKey``, ``groupLabels``, ``commonLabels``,
``commonAnnotations``, ``truncatedAlerts``) describe the group, not any one alert: they go into each alert's
``group`` (``notification_group``), which Grafana's parser shares (Grafana embeds Alertmanager's notifier).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from schemas.alert import Alert, AlertGroup
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

GROUP_STATUSES = ("firing", "resolved")


def truncated_alerts(document: Mapping[str, Any], format_name: str) -> int:
    """``truncatedAlerts``: how many alerts of the group the sender cut (its ``max_alerts``); 0 when absent."""
    value = document.get("truncatedAlerts", 0)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ParseError(f"{format_name}: truncatedAlerts must be a non-negative integer, got {value!r}")
    return value


def notification_group(
    document: Mapping[str, Any], format_name: str, title: str | None = None, message: str | None = None
) -> AlertGroup:
    """The group context of an Alertmanager-shaped notification (Alertmanager v4, Grafana v1); ``ParseError``
    names a field of the wrong type."""
    status = document.get("status")
    return AlertGroup(
        receiver=optional_string(document.get("receiver"), f"{format_name}: receiver"),
        key=optional_string(document.get("groupKey"), f"{format_name}: groupKey"),
        # Context only, so a status no alert needs does not refuse the message: each alert's own status counts, and
        # the group's stands in (and is checked) only for an alert without one.
        status=status.strip().lower() if isinstance(status, str) and status.strip().lower() in GROUP_STATUSES else None,
        labels=string_map(document.get("groupLabels"), f"{format_name}: groupLabels"),
        common_labels=string_map(document.get("commonLabels"), f"{format_name}: commonLabels"),
        common_annotations=string_map(document.get("commonAnnotations"), f"{format_name}: commonAnnotations"),
        title=title,
        message=message,
        truncated_alerts=truncated_alerts(document, format_name),
    )


def absolute_url(link: str | None, base: str | None) -> str | None:
    """``link`` made absolute against the sender's ``base`` (its ``externalURL``) when it is a path: Grafana 12 sends
    ``/alerting/grafana/<uid>/view`` where earlier versions sent the whole URL. A path that already starts with the
    base's own path (Grafana served under a sub path) is joined to the base's origin, any other is put under it."""
    if not link or not base or urlsplit(link).scheme or not link.startswith("/") or link.startswith("//"):
        return link
    parts = urlsplit(base)
    if not parts.scheme or not parts.netloc:
        return link
    origin = f"{parts.scheme}://{parts.netloc}"
    prefix = parts.path.rstrip("/")
    if not prefix or link == prefix or link.startswith(f"{prefix}/"):
        return f"{origin}{link}"
    return f"{origin}{prefix}{link}"


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
        its field), each with the notification's ``group``; the source is the source header's, else
        ``alertmanager``. ``ParseError`` when the message itself is invalid."""
        alerts = alert_list(document, self.format)
        external_url = optional_string(document.get("externalURL"), "alertmanager.v4: externalURL")
        group = notification_group(document, self.format)
        group_status = document.get("status")
        source = source_of(headers, self.source)
        return each_alert(
            alerts,
            "alertmanager.v4: alerts",
            lambda item, where: self._alert(item, where, source, group, group_status, external_url),
        )

    def _alert(
        self, item: Any, where: str, source: str, group: AlertGroup, group_status: Any, external_url: str | None
    ) -> Alert:
        labels, annotations, name = labelled_alert(item, where)
        fingerprint = optional_string(item.get("fingerprint"), f"{where}.fingerprint")
        generator_url = absolute_url(optional_string(item.get("generatorURL"), f"{where}.generatorURL"), external_url)
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
            group=group,
            payload=dict(item),
        )


def labelled_alert(item: Any, where: str) -> tuple[dict[str, str], dict[str, str], str]:
    """An alert element as Prometheus and Alertmanager write it: its labels, annotations and ``alertname``
    (required); ``ParseError`` naming the element's field otherwise."""
    if not isinstance(item, Mapping):
        raise ParseError(f"{where} must be an object, got {type(item).__name__}")
    labels = string_map(item.get("labels"), f"{where}.labels")
    annotations = string_map(item.get("annotations"), f"{where}.annotations")
    name = labels.get("alertname", "").strip()
    if not name:
        raise ParseError(f"{where}.labels.alertname is required")
    return labels, annotations, name
