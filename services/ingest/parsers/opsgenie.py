"""Opsgenie outgoing webhook integration: ``{"action": "Create", "alert": {"alertId", "message", "alias", "tinyId",
"tags", "priority": "P1".."P5", "createdAt", "entity", "source", "details", ...}, "source": {...},
"integrationName", ...}``, one request per alert action.

Only actions that change whether an alert is open are alerts: Create, Acknowledge and UnAcknowledge are firing
(an acknowledged alert is still open), Close and Delete are resolved. The others (AddNote, AddTags, AssignOwnership,
Escalate, UpdatePriority, Snooze...) are refused with a reason naming the action.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert, AlertStatus
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import normalize_severity, source_of, stable_hash
from services.ingest.parsers.vendor_fields import (
    epoch_or_rfc3339,
    mapping_at,
    required_text,
    scalar_labels,
    tag_labels,
    text_at,
)

FORMAT = "opsgenie"
ACTION_STATUS: dict[str, AlertStatus] = {
    "create": "firing",
    "acknowledge": "firing",
    "unacknowledge": "firing",
    "close": "resolved",
    "delete": "resolved",
}
LABEL_FIELDS = ("entity", "source", "team", "tinyId", "alias", "priority")
#: Keys Opsgenie puts beside ``action`` and ``alert``; one must be there so another sender's {action, alert} is not
#: taken for Opsgenie's.
ENVELOPE_KEYS = ("integrationName", "integrationId", "integrationType", "source")


class OpsgenieParser:
    """Reads an Opsgenie webhook action as one alert."""

    format = FORMAT
    source = "opsgenie"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """An object with a string ``action``, an ``alert`` object and Opsgenie's integration envelope."""
        return (
            isinstance(document, dict)
            and isinstance(document.get("action"), str)
            and isinstance(document.get("alert"), dict)
            and any(key in document for key in ENVELOPE_KEYS)
        )

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One action, one alert."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The alert the action is about; ``ParseError`` for an action that is not an open/close, or an alert
        without an id (alertId or alias) or a message."""
        action = text_at(document, "action", FORMAT)
        status = ACTION_STATUS.get(action.lower())
        if status is None:
            raise ParseError(
                f"{FORMAT}: action {action!r} is not an alert (only Create, Acknowledge, UnAcknowledge, Close and "
                "Delete change whether an alert is open); limit the webhook's alert actions to those"
            )
        alert = document["alert"]
        where = f"{FORMAT}: alert"
        # alertId is one alert's for its life; an alias is reused by the next alert after a close, so it only
        # stands in when a hand-made body lacks the id.
        identity = text_at(alert, "alertId", where) or required_text(alert, "alias", where)
        labels = {
            **tag_labels(alert.get("tags"), f"{where}.tags"),
            **scalar_labels(mapping_at(alert, "details", where)),
            **scalar_labels({key: alert[key] for key in LABEL_FIELDS if alert.get(key) not in (None, "")}),
        }
        priority = text_at(alert, "priority", where)
        return [
            Alert(
                source=source_of(headers, self.source),
                format=FORMAT,
                status=status,
                name=required_text(alert, "message", where),
                severity=normalize_severity(priority),
                severity_original=priority or None,
                summary=text_at(alert, "message", where),
                description=text_at(alert, "description", where),
                labels=labels,
                fingerprint=stable_hash(("opsgenie", identity)),
                starts_at=epoch_or_rfc3339(alert.get("createdAt"), f"{where}.createdAt"),
                payload=dict(document),
            )
        ]
