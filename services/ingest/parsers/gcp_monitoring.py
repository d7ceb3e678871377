"""Google Cloud Monitoring incident notifications, as a webhook notification channel posts them:
``{"version": "1.2", "incident": {"incident_id", "policy_name", "condition_name", "state": "open"|"closed",
"started_at", "ended_at" (epoch seconds), "url", "severity", "resource", "metric", ...}}``.

An incident is one alert: Cloud Monitoring sends it when it opens and again, with the same ``incident_id``, when
it closes; the policy firing again opens a new incident.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert, AlertStatus
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import (
    gather_urls,
    normalize_severity,
    optional_string,
    parse_time,
    source_of,
    stable_hash,
)

INCIDENT_STATE: dict[str, AlertStatus] = {"open": "firing", "closed": "resolved"}
#: Cloud Monitoring's word for a policy without a severity.
NO_SEVERITY = "no severity"


class GcpMonitoringParser:
    """Reads Cloud Monitoring's webhook notifications (schema versions 1.1 and 1.2)."""

    format = "gcp.monitoring"
    source = "gcp-monitoring"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """A body with a ``version`` "1.x" and an ``incident`` object holding ``incident_id``."""
        if not isinstance(document, dict) or not isinstance(document.get("incident"), dict):
            return False
        version = document.get("version")
        return isinstance(version, str) and version.startswith("1.") and "incident_id" in document["incident"]

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One incident per notification."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The incident as one alert; ``ParseError`` naming a missing or invalid field."""
        incident = document["incident"]
        where = "gcp.monitoring: incident"
        incident_id = optional_string(incident.get("incident_id"), f"{where}.incident_id")
        if incident_id is None:
            raise ParseError(f"{where}.incident_id is required")
        name = (optional_string(incident.get("policy_name"), f"{where}.policy_name") or "").strip()
        if not name:
            raise ParseError(f"{where}.policy_name is required")
        state = incident.get("state")
        if not isinstance(state, str) or state.lower() not in INCIDENT_STATE:
            raise ParseError(f"{where}.state must be 'open' or 'closed', got {state!r}")
        severity = optional_string(incident.get("severity"), f"{where}.severity")
        documentation = incident.get("documentation")
        return [
            Alert(
                source=source_of(headers, self.source),
                format=self.format,
                status=INCIDENT_STATE[state.lower()],
                name=name,
                severity=normalize_severity(severity),
                severity_original=None if severity is None or severity.lower() == NO_SEVERITY else severity,
                summary=optional_string(incident.get("summary"), f"{where}.summary") or "",
                description=_documentation(documentation),
                labels=incident_labels(incident),
                # incident_id is the same in the open and the closed notification, and new for each incident.
                fingerprint=stable_hash(("gcp.monitoring", str(incident.get("scoping_project_id", "")), incident_id)),
                starts_at=parse_time(incident.get("started_at"), f"{where}.started_at"),  # epoch seconds
                ends_at=parse_time(incident.get("ended_at"), f"{where}.ended_at"),
                urls=gather_urls(source=incident.get("url"), apigee=incident.get("apigee_url")),
                payload=dict(incident),
            )
        ]


def incident_labels(incident: Mapping[str, Any]) -> dict[str, str]:
    """The policy's user labels, the resource's and metric's labels, and what names them."""
    labels: dict[str, str] = {}
    for key, label in (
        ("condition_name", "condition"),
        ("scoping_project_id", "project"),
        ("resource_name", "resource_name"),
        ("resource_type_display_name", "resource_type_display_name"),
    ):
        if isinstance(incident.get(key), str) and incident[key]:
            labels[label] = incident[key]
    for part in ("resource", "metric"):
        value = incident.get(part)
        if isinstance(value, Mapping):
            if isinstance(value.get("type"), str):
                labels[f"{part}_type"] = value["type"]
            labels.update(_strings(value.get("labels")))
    labels.update(_strings(incident.get("policy_user_labels")))
    metadata = incident.get("metadata")
    if isinstance(metadata, Mapping):
        labels.update(_strings(metadata.get("system_labels")))
        labels.update(_strings(metadata.get("user_labels")))
    return labels


def _strings(value: Any) -> dict[str, str]:
    # Label maps are strings in every documented sample; anything else (a null) is left out, not refused.
    if not isinstance(value, Mapping):
        return {}
    return {str(key): item for key, item in value.items() if isinstance(item, str)}


def _documentation(value: Any) -> str:
    if isinstance(value, Mapping) and isinstance(value.get("content"), str):
        return str(value["content"])
    return value if isinstance(value, str) else ""
