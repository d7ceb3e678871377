"""PagerDuty: v3 webhooks (``{"event": {"event_type": "incident.triggered", "data": {<incident>}}}``) and the
Events API v2 body (``{"routing_key", "event_action": "trigger", "dedup_key", "payload": {...}}``) that monitoring
tools send to PagerDuty and can send here instead.

A v3 webhook is one event per request. Only the events that change whether an incident is open are alerts:
triggered, reopened, unacknowledged and acknowledged are firing (an acknowledged incident is still open: someone
took it, nothing fixed it), resolved is resolved. Every other event (``incident.annotated``,
``incident.priority_updated``, ``incident.escalated``, ``pagey.ping``, service events...) is refused with a reason
that names it, so a subscription wider than needed shows in the dead-letter topic instead of starting runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert, AlertStatus
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import gather_urls, normalize_severity, parse_time, source_of, stable_hash
from services.ingest.parsers.vendor_fields import mapping_at, required_text, scalar_labels, text_at

WEBHOOK_FORMAT = "pagerduty.v3"
EVENTS_FORMAT = "pagerduty.events.v2"
INCIDENT_STATUS: dict[str, AlertStatus] = {
    "incident.triggered": "firing",
    "incident.reopened": "firing",
    "incident.unacknowledged": "firing",
    "incident.acknowledged": "firing",
    "incident.resolved": "resolved",
}
EVENT_ACTION_STATUS: dict[str, AlertStatus] = {"trigger": "firing", "acknowledge": "firing", "resolve": "resolved"}
#: An incident's reference fields whose ``summary`` becomes a label of that name.
REFERENCES = ("service", "escalation_policy", "priority")
#: An incident's scalar fields kept as labels.
INCIDENT_LABELS = ("urgency", "number", "incident_key", "status")


class PagerDutyWebhookParser:
    """Reads a PagerDuty v3 webhook: the incident of an incident state change as one alert."""

    format = WEBHOOK_FORMAT
    source = "pagerduty"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """An object whose ``event`` is an object with ``event_type`` and ``resource_type``: v3's envelope."""
        if not isinstance(document, dict) or not isinstance(event := document.get("event"), dict):
            return False
        return isinstance(event.get("event_type"), str) and "resource_type" in event

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One event per request."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The incident as one alert; ``ParseError`` for an event that is not an incident state change (saying which)
        or an incident without its id or title."""
        event = document["event"]
        where = f"{WEBHOOK_FORMAT}: event"
        event_type = text_at(event, "event_type", where)
        status = INCIDENT_STATUS.get(event_type)
        if status is None:
            raise ParseError(
                f"{WEBHOOK_FORMAT}: event {event_type!r} is not an alert (only incident.triggered, .acknowledged, "
                ".unacknowledged, .reopened and .resolved change whether an incident is open); subscribe the "
                "webhook to those"
            )
        incident = mapping_at(event, "data", where)
        where = f"{where}.data"
        incident_id = required_text(incident, "id", where)
        labels = {
            name: text_at(reference, "summary", f"{where}.{name}")
            for name in REFERENCES
            if (reference := mapping_at(incident, name, where)).get("summary")
        }
        labels |= scalar_labels({key: value for key in INCIDENT_LABELS if (value := incident.get(key)) is not None})
        severity_word = labels.get("priority") or labels.get("urgency") or ""
        occurred = parse_time(event.get("occurred_at"), f"{WEBHOOK_FORMAT}: event.occurred_at")
        alert = Alert(
            source=source_of(headers, self.source),
            format=WEBHOOK_FORMAT,
            status=status,
            name=required_text(incident, "title", where),
            severity=normalize_severity(severity_word),
            severity_original=severity_word or None,
            summary=text_at(incident, "summary", where) or text_at(incident, "title", where),
            description=text_at(incident, "description", where),
            labels=labels,
            # The incident id is the incident's for its whole life: its triggered and resolved events share it.
            fingerprint=stable_hash(("pagerduty", "incident", incident_id)),
            starts_at=parse_time(incident.get("created_at"), f"{where}.created_at") or occurred,
            ends_at=occurred if status == "resolved" else None,
            urls=gather_urls(source=incident.get("html_url")),
            payload=dict(document),
        )
        return [alert]


class PagerDutyEventsParser:
    """Reads a PagerDuty Events API v2 event (trigger, acknowledge, resolve) as one alert."""

    format = EVENTS_FORMAT
    source = "pagerduty"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """An object with ``event_action`` and a ``routing_key``, ``dedup_key`` or ``payload``."""
        return (
            isinstance(document, dict)
            and isinstance(document.get("event_action"), str)
            and any(key in document for key in ("routing_key", "dedup_key", "payload"))
        )

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One event per request."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The event as one alert; ``ParseError`` for an unknown action, a trigger without a summary, or an
        acknowledge or resolve without the ``dedup_key`` that names what it ends."""
        where = EVENTS_FORMAT
        action = text_at(document, "event_action", where).lower()
        status = EVENT_ACTION_STATUS.get(action)
        if status is None:
            raise ParseError(f"{where}: event_action must be trigger, acknowledge or resolve, got {action!r}")
        payload = mapping_at(document, "payload", where)
        dedup_key = text_at(document, "dedup_key", where)
        summary = text_at(payload, "summary", f"{where}.payload")
        if action == "trigger" and not summary:
            raise ParseError(f"{where}: payload.summary is required for a trigger")
        if action != "trigger" and not dedup_key:
            raise ParseError(f"{where}: dedup_key is required to {action} (it names the alert to {action})")
        labels = scalar_labels(
            {key: payload[key] for key in ("source", "component", "group", "class") if key in payload}
        ) | scalar_labels(mapping_at(payload, "custom_details", f"{where}.payload"))
        severity_word = text_at(payload, "severity", f"{where}.payload")
        alert = Alert(
            source=source_of(headers, self.source),
            format=EVENTS_FORMAT,
            status=status,
            name=summary or dedup_key,
            severity=normalize_severity(severity_word),
            severity_original=severity_word or None,
            summary=summary,
            labels=labels,
            fingerprint=_events_fingerprint(document, payload, dedup_key, summary),
            starts_at=parse_time(payload.get("timestamp"), f"{where}.payload.timestamp"),
            urls=gather_urls(source=document.get("client_url"), **_links(document.get("links"), where)),
            payload=dict(document),
        )
        return [alert]


def _events_fingerprint(document: Mapping[str, Any], payload: Mapping[str, Any], dedup_key: str, summary: str) -> str:
    # PagerDuty merges events by (routing key, dedup_key), and a resolve names its trigger by them; a trigger without
    # one gets a key made by PagerDuty, which alertmesh cannot know: its content identifies it instead.
    routing_key = text_at(document, "routing_key", EVENTS_FORMAT)
    if dedup_key:
        return stable_hash(("pagerduty", "events", routing_key, dedup_key))
    parts = [text_at(payload, key, f"{EVENTS_FORMAT}.payload") for key in ("source", "component", "group", "class")]
    return stable_hash(("pagerduty", "events", routing_key, "content", summary, *parts))


def _links(links: Any, where: str) -> dict[str, Any]:
    if links is None:
        return {}
    if not isinstance(links, list):
        raise ParseError(f"{where}: links must be a list of {{href, text}} objects")
    hrefs = [link.get("href") for link in links if isinstance(link, Mapping)]
    return {("link" if index == 0 else f"link{index + 1}"): href for index, href in enumerate(hrefs)}
