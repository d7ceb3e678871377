"""Sentry: the integration platform's webhooks (issue alerts, metric alerts, issue and error resources) and the
legacy webhooks plugin, on one URL.

Integration webhooks are ``{"action", "data": {...}, "installation": {...}, "actor": {...}}``; what ``data`` holds
says what happened (Sentry also names it in the ``Sentry-Hook-Resource`` header):

- ``data.event`` (issue alert, ``action`` "triggered"): an event matched an alert rule; firing.
- ``data.metric_alert`` (``action`` critical, warning or resolved): a metric alert incident changed state.
- ``data.issue`` (``action`` created, unresolved, resolved...): an issue's state; created/unresolved fire,
  resolved resolves; assigned, archived and ignored are not alert states and are refused.
- ``data.error`` (``action`` created): an error event; firing.

The plugin posts ``{"id": <issue id>, "project", "culprit", "level", "url", "message", "event": {...}}``.

Everything about one issue shares a fingerprint (its issue id), so an issue alert's firing finds the issue's
resolution; a metric alert is its incident (``metric_alert.id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert, AlertStatus
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import gather_urls, normalize_severity, parse_time, source_of, stable_hash
from services.ingest.parsers.vendor_fields import epoch_or_rfc3339, mapping_at, required_text, scalar_labels, text_at

INTEGRATION_FORMAT = "sentry"
PLUGIN_FORMAT = "sentry.plugin"
RESOURCES = ("event", "metric_alert", "issue", "error")
ISSUE_STATUS: dict[str, AlertStatus] = {"created": "firing", "unresolved": "firing", "resolved": "resolved"}
METRIC_STATUS: dict[str, AlertStatus] = {"critical": "firing", "warning": "firing", "resolved": "resolved"}
#: The metric alert's action is its severity: critical and warning thresholds.
METRIC_SEVERITY = {"critical": "critical", "warning": "warning"}
PLUGIN_KEYS = ("culprit", "project", "url", "level")


class SentryParser:
    """Reads a Sentry integration-platform webhook (issue alert, metric alert, issue, error) as one alert."""

    format = INTEGRATION_FORMAT
    source = "sentry"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """An object with a string ``action`` and a ``data`` object holding an event, metric alert, issue or error."""
        if not isinstance(document, dict) or not isinstance(document.get("action"), str):
            return False
        data = document.get("data")
        return isinstance(data, dict) and any(isinstance(data.get(key), dict) for key in RESOURCES)

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One webhook, one alert."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The alert the webhook is about; ``ParseError`` names the missing id or title, or an action that is not
        an alert state."""
        data = document["data"]
        action = text_at(document, "action", INTEGRATION_FORMAT).lower()
        source = source_of(headers, self.source)
        if isinstance(data.get("metric_alert"), dict):
            return [_metric_alert(document, data, action, source)]
        if isinstance(data.get("issue"), dict):
            return [_issue(document, data["issue"], action, source)]
        resource = "event" if isinstance(data.get("event"), dict) else "error"
        return [_event(document, data[resource], f"{INTEGRATION_FORMAT}: data.{resource}", source, data)]


class SentryPluginParser:
    """Reads the legacy Sentry webhooks plugin's body as one firing alert (the plugin posts new issues)."""

    format = PLUGIN_FORMAT
    source = "sentry"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """An object with the plugin's ``id``, ``event`` object and its issue fields."""
        return (
            isinstance(document, dict)
            and "id" in document
            and isinstance(document.get("event"), dict)
            and all(key in document for key in PLUGIN_KEYS)
        )

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One issue, one alert."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The issue as one firing alert; ``ParseError`` when it has no id or nothing to name it by."""
        where = PLUGIN_FORMAT
        event = document["event"]
        issue_id = required_text(document, "id", where)
        name = (
            text_at(event, "title", f"{where}.event")
            or text_at(document, "message", where)
            or text_at(document, "culprit", where)
        )
        if not name:
            raise ParseError(f"{where}: the issue has no title, message or culprit to name it by")
        level = text_at(document, "level", where) or text_at(event, "level", f"{where}.event")
        labels = _tags(event.get("tags"), f"{where}.event.tags") | scalar_labels(
            {key: document[key] for key in ("project", "project_slug", "logger", "culprit") if document.get(key)}
        )
        return [
            Alert(
                source=source_of(headers, self.source),
                format=PLUGIN_FORMAT,
                status="firing",
                name=name,
                severity=normalize_severity(level),
                severity_original=level or None,
                summary=text_at(document, "message", where) or name,
                description=text_at(document, "culprit", where),
                labels=labels,
                fingerprint=_issue_fingerprint(issue_id),
                starts_at=epoch_or_rfc3339(event.get("timestamp") or event.get("datetime"), f"{where}.event.timestamp"),
                urls=gather_urls(source=document.get("url")),
                payload=dict(document),
            )
        ]


def _issue_fingerprint(issue_id: str) -> str:
    return stable_hash(("sentry", "issue", issue_id))


def _event(
    document: Mapping[str, Any], event: Mapping[str, Any], where: str, source: str, data: Mapping[str, Any]
) -> Alert:
    issue_id = text_at(event, "issue_id", where) or text_at(event, "group_id", where)
    if not issue_id:
        raise ParseError(f"{where}.issue_id is required (the issue the event belongs to identifies the alert)")
    level = text_at(event, "level", where)
    labels = _tags(event.get("tags"), f"{where}.tags") | scalar_labels(
        {key: event[key] for key in ("project", "environment", "culprit") if event.get(key) not in (None, "")}
    )
    rule = text_at(data, "triggered_rule", f"{INTEGRATION_FORMAT}: data")
    if rule:
        labels["triggered_rule"] = rule
    return Alert(
        source=source,
        format=INTEGRATION_FORMAT,
        status="firing",
        name=required_text(event, "title", where),
        severity=normalize_severity(level),
        severity_original=level or None,
        summary=text_at(event, "title", where),
        description=text_at(event, "culprit", where),
        labels=labels,
        fingerprint=_issue_fingerprint(issue_id),
        starts_at=epoch_or_rfc3339(event.get("datetime") or event.get("timestamp"), f"{where}.datetime"),
        urls=gather_urls(source=event.get("web_url"), issue=event.get("issue_url")),
        payload=dict(document),
    )


def _issue(document: Mapping[str, Any], issue: Mapping[str, Any], action: str, source: str) -> Alert:
    where = f"{INTEGRATION_FORMAT}: data.issue"
    status = ISSUE_STATUS.get(action)
    if status is None:
        raise ParseError(
            f"{INTEGRATION_FORMAT}: issue action {action!r} is not an alert state (created, unresolved and resolved "
            "are); subscribe the integration to those"
        )
    level = text_at(issue, "level", where)
    project = mapping_at(issue, "project", where)
    # created and resolved share firstSeen, so a resolution finds the creation's run. A regression (unresolved)
    # is a new occurrence of the issue: firstSeen would make it a repeat of the first one and drop it.
    start = "lastSeen" if action == "unresolved" else "firstSeen"
    labels = scalar_labels({key: issue[key] for key in ("shortId", "culprit", "platform") if issue.get(key)})
    if project.get("slug"):
        labels["project"] = text_at(project, "slug", f"{where}.project")
    return Alert(
        source=source,
        format=INTEGRATION_FORMAT,
        status=status,
        name=required_text(issue, "title", where),
        severity=normalize_severity(level),
        severity_original=level or None,
        summary=text_at(issue, "title", where),
        description=text_at(issue, "culprit", where),
        labels=labels,
        fingerprint=_issue_fingerprint(required_text(issue, "id", where)),
        starts_at=parse_time(issue.get(start), f"{where}.{start}"),
        urls=gather_urls(source=issue.get("web_url") or issue.get("permalink")),
        payload=dict(document),
    )


def _metric_alert(document: Mapping[str, Any], data: Mapping[str, Any], action: str, source: str) -> Alert:
    where = f"{INTEGRATION_FORMAT}: data.metric_alert"
    incident = data["metric_alert"]
    status = METRIC_STATUS.get(action)
    if status is None:
        raise ParseError(f"{where}: action must be critical, warning or resolved, got {action!r}")
    rule = mapping_at(incident, "alert_rule", where)
    rule_name = text_at(rule, "name", f"{where}.alert_rule")
    name = rule_name or text_at(incident, "title", where)
    if not name:
        raise ParseError(f"{where}.alert_rule.name is required (or the incident's title)")
    # The incident is one breach of the rule, through warning, critical and resolved; the rule's next breach is a
    # new incident and a new alert.
    identity = text_at(incident, "id", where) or text_at(incident, "identifier", where)
    if not identity:
        raise ParseError(f"{where}.id is required (the incident identifies the alert)")
    severity_word = METRIC_SEVERITY.get(action, "")
    labels = {"alert_rule": rule_name} if rule_name else {}
    projects = incident.get("projects")
    if isinstance(projects, list) and all(isinstance(project, str) for project in projects) and projects:
        labels["projects"] = ",".join(projects)
    return Alert(
        source=source,
        format=INTEGRATION_FORMAT,
        status=status,
        name=name,
        severity=normalize_severity(severity_word) if severity_word else "unknown",
        severity_original=action if severity_word else None,
        summary=text_at(data, "description_title", f"{INTEGRATION_FORMAT}: data") or name,
        description=text_at(data, "description_text", f"{INTEGRATION_FORMAT}: data"),
        labels=labels,
        fingerprint=stable_hash(("sentry", "metric_alert", text_at(rule, "id", where), identity)),
        starts_at=parse_time(incident.get("date_started"), f"{where}.date_started"),
        ends_at=parse_time(incident.get("date_closed"), f"{where}.date_closed") if status == "resolved" else None,
        urls=gather_urls(source=data.get("web_url")),
        payload=dict(document),
    )


def _tags(tags: Any, where: str) -> dict[str, str]:
    # Sentry sends tags as [[key, value], ...] (events) or [{"key": k, "value": v}, ...] (some serializers).
    if tags is None:
        return {}
    if not isinstance(tags, list):
        raise ParseError(f"{where} must be a list of [key, value] pairs")
    labels: dict[str, str] = {}
    for tag in tags:
        pair = (tag.get("key"), tag.get("value")) if isinstance(tag, Mapping) else tag
        if isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(part, str) for part in pair):
            labels[pair[0]] = pair[1]
    return labels
