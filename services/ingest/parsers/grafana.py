"""Grafana unified alerting webhook (contact point type "webhook"), ``"version": "1"``: one alert per element.

The body looks like Alertmanager's (Grafana embeds it) plus Grafana's own fields: the notification's ``orgId``,
``state`` (alerting, ok, ...), ``title`` and ``message``, and per alert ``values`` (the query results that fired
it), ``dashboardURL``/``panelURL``/``silenceURL`` (empty strings when the rule has no dashboard) and
``imageURL`` (a screenshot, when enabled). Links that are paths relative to ``externalURL`` (Grafana 12's
``generatorURL``) are made absolute here.

The notification's ``title`` and ``message`` describe the whole group ("[FIRING:2] ..."): they are the group's
context (``Alert.group``), never an alert's summary or description, which come from the alert's own annotations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert, AlertGroup
from services.ingest.parsers.alertmanager import absolute_url, notification_group
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
    stable_hash,
    string_map,
)

#: The notification's ``state`` when an alert carries no status of its own (Grafana always sets one today).
STATE_STATUS = {"alerting": "firing", "ok": "resolved"}
#: Notification fields each alert keeps in its payload: the alert objects have no keys by these names.
NOTIFICATION_FIELDS = ("orgId", "state", "title", "message", "groupKey")


class GrafanaParser:
    """Reads ``{"version": "1", "alerts": [...], "orgId": 1, "state": "alerting", ...}`` as Grafana sends it."""

    format = "grafana.v1"
    source = "grafana"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """A Grafana webhook body: ``version`` "1" and an ``alerts`` list."""
        return isinstance(document, dict) and document.get("version") == "1" and "alerts" in document

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """The length of ``alerts`` (1 when it is not a list: ``parse`` refuses it)."""
        return list_length(document.get("alerts"))

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """One alert per element of ``alerts``, each with the notification's fields, an invalid element refused on its
        own (``RefusedAlert``); the source is the source header's, else ``grafana``. ``ParseError`` names an invalid
        field of the notification itself."""
        alerts = alert_list(document, self.format)
        org_id = document.get("orgId")
        if org_id is not None and (not isinstance(org_id, int) or isinstance(org_id, bool)):
            raise ParseError(f"grafana.v1: orgId must be an integer, got {type(org_id).__name__}")
        external_url = optional_string(document.get("externalURL"), "grafana.v1: externalURL")
        title = optional_string(document.get("title"), "grafana.v1: title")
        message = optional_string(document.get("message"), "grafana.v1: message")
        group_status = document.get("status") or STATE_STATUS.get(str(document.get("state")))
        group = notification_group(document, self.format, title, message)
        notification = {key: document[key] for key in NOTIFICATION_FIELDS if key in document}
        source = source_of(headers, self.source)
        return each_alert(
            alerts,
            "grafana.v1: alerts",
            lambda item, where: self._alert(item, where, source, group_status, external_url, group, notification),
        )

    def _alert(
        self,
        item: Any,
        where: str,
        source: str,
        group_status: Any,
        external_url: str | None,
        group: AlertGroup,
        notification: Mapping[str, Any],
    ) -> Alert:
        if not isinstance(item, Mapping):
            raise ParseError(f"{where} must be an object, got {type(item).__name__}")
        labels = string_map(item.get("labels"), f"{where}.labels")
        annotations = string_map(item.get("annotations"), f"{where}.annotations")
        values = item.get("values")
        if values is not None and not isinstance(values, Mapping):
            raise ParseError(f"{where}.values must be an object, got {type(values).__name__}")
        # Grafana names every alert after its rule; a hand-written body may only have the notification title.
        name = labels.get("alertname", "").strip() or (group.title or "").strip()
        if not name:
            raise ParseError(f"{where}.labels.alertname is required (or a notification title)")
        fingerprint = optional_string(item.get("fingerprint"), f"{where}.fingerprint")
        links = {
            key: absolute_url(optional_string(item.get(f"{key}URL"), f"{where}.{key}URL"), external_url)
            for key in ("generator", "dashboard", "panel", "silence", "image")
        }
        generator_url = links["generator"]
        return Alert(
            source=source,
            format=self.format,
            status=parse_status(item.get("status") or group_status, where),
            name=name,
            severity=normalize_severity(labels.get("severity")),
            severity_original=labels.get("severity"),
            summary=annotations.get("summary", ""),
            description=annotations.get("description", ""),
            labels=labels,
            annotations=annotations,
            fingerprint=fingerprint or _fingerprint(name, labels, annotations, links),
            starts_at=parse_time(item.get("startsAt"), f"{where}.startsAt"),
            ends_at=parse_time(item.get("endsAt"), f"{where}.endsAt"),
            generator_url=generator_url,
            external_url=external_url,
            urls=gather_urls(
                generator=generator_url,
                source=external_url,
                runbook=annotations.get("runbook_url"),
                dashboard=links["dashboard"],
                panel=links["panel"],
                silence=links["silence"],
                image=links["image"],  # the screenshot of the panel, when Grafana takes them
            ),
            group=group,
            payload={**item, **notification},
        )


def _fingerprint(
    name: str, labels: Mapping[str, str], annotations: Mapping[str, str], links: Mapping[str, str | None]
) -> str:
    """The alert's identity when Grafana sent no ``fingerprint``: its labels, as Alertmanager's. Without labels,
    every alert of a notification would share one: then its name and the rule and panel it links to (stable while
    its values change from one evaluation to the next), and its annotations only when it links to nothing (nothing
    else tells two such alerts apart)."""
    if labels:
        return labels_fingerprint(labels)
    linked = [links[key] or "" for key in ("generator", "dashboard", "panel")]
    described = [] if any(linked) else [f"{key}={value}" for key, value in sorted(annotations.items())]
    return stable_hash(("grafana.v1 without labels", name, *linked, *described))
