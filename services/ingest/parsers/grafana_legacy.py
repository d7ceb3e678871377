"""Grafana's legacy (dashboard) alerting webhook, Grafana 4 to 8 and later with legacy alerting on: one rule's
state change per notification, ``{"title", "ruleId", "ruleName", "ruleUrl", "state", "evalMatches", "tags",
"message", "imageUrl", "orgId", "dashboardId", "panelId"}``.

``state`` is the rule's new state: ``alerting`` and ``no_data`` (the query returned nothing and the rule is set to
alert on it) fire; ``ok`` resolves; ``paused`` (the rule stopped being evaluated) ends the alert too, as nothing
will ever resolve it otherwise. ``pending`` is never sent to a notification channel.
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
    source_of,
    stable_hash,
)

RULE_STATE: dict[str, AlertStatus] = {"alerting": "firing", "no_data": "firing", "ok": "resolved", "paused": "resolved"}


def _integer(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParseError(f"{where} must be an integer, got {type(value).__name__}")
    return value


class GrafanaLegacyParser:
    """Reads the legacy alerting webhook body."""

    format = "grafana.legacy"
    source = "grafana"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """A body with ``ruleName`` and ``state`` and no ``alerts`` list (unified alerting's webhook has one)."""
        return (
            isinstance(document, dict) and "ruleName" in document and "state" in document and "alerts" not in document
        )

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One rule's state change per notification."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The rule's alert; ``ParseError`` naming a missing or invalid field."""
        where = "grafana.legacy"
        name = (optional_string(document.get("ruleName"), f"{where}: ruleName") or "").strip()
        if not name:
            raise ParseError(f"{where}: ruleName is required")
        state = document.get("state")
        if not isinstance(state, str) or state.lower() not in RULE_STATE:
            raise ParseError(f"{where}: state must be alerting, no_data, ok or paused, got {state!r}")
        org_id = _integer(document.get("orgId"), f"{where}: orgId")
        rule_id = _integer(document.get("ruleId"), f"{where}: ruleId")
        tags = _tags(document.get("tags"), where)
        for key, label in (("dashboardId", "dashboard_id"), ("panelId", "panel_id")):
            number = _integer(document.get(key), f"{where}: {key}")
            if number is not None:
                tags.setdefault(label, str(number))
        rule_url = optional_string(document.get("ruleUrl"), f"{where}: ruleUrl")
        # A rule is identified by its id within its organization; a test notification has ruleId 0 (no rule yet).
        identity = (str(org_id or 0), str(rule_id)) if rule_id else (name, rule_url or "")
        return [
            Alert(
                source=source_of(headers, self.source),
                format=self.format,
                status=RULE_STATE[state.lower()],
                name=name,
                severity=normalize_severity(tags.get("severity")),
                severity_original=tags.get("severity"),
                summary=optional_string(document.get("title"), f"{where}: title") or name,
                description=optional_string(document.get("message"), f"{where}: message") or "",
                labels={**tags, "state": state.lower()},
                fingerprint=stable_hash(("grafana.legacy", *identity)),
                urls=gather_urls(
                    source=rule_url, image=optional_string(document.get("imageUrl"), f"{where}: imageUrl")
                ),
                payload=dict(document),
            )
        ]


def _tags(value: Any, where: str) -> dict[str, str]:
    # Grafana sends the rule's tags as strings; numbers and booleans typed in JSON by other senders become text.
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ParseError(f"{where}: tags must be an object, got {type(value).__name__}")
    if any(isinstance(item, Mapping | list) for item in value.values()):
        raise ParseError(f"{where}: tags must map to strings")
    return {str(key): "" if item is None else str(item) for key, item in value.items()}
