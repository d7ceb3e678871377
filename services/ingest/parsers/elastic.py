"""Elastic/Kibana alerting rules through Kibana's webhook connector.

The connector posts whatever body the rule action's template renders; Kibana fixes no body, only the action
variables (``rule.id``, ``rule.name``, ``rule.tags``, ``rule.url``, ``alert.id``, ``alert.uuid``,
``alert.actionGroup``, ``alert.actionGroupName``, ``context.*``, ``date``, ``kibanaBaseUrl``). alertmesh reads the
body that posts them under their own names::

    {"rule": {"id": "{{rule.id}}", "name": "{{rule.name}}", "tags": "{{rule.tags}}", "url": "{{rule.url}}"},
     "alert": {"id": "{{alert.id}}", "uuid": "{{alert.uuid}}", "actionGroup": "{{alert.actionGroup}}"},
     "context": {"reason": "{{context.reason}}", "value": "{{context.value}}", ...},
     "date": "{{date}}", "kibanaBaseUrl": "{{kibanaBaseUrl}}"}

An alert is one rule's one alert instance (``alert.id``: the group, host... the rule tracks), firing while its
action group is not ``recovered`` (Kibana's recovery action group); recovered is resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import gather_urls, normalize_severity, parse_time, source_of, stable_hash
from services.ingest.parsers.vendor_fields import mapping_at, required_text, scalar_labels, tag_labels, text_at

FORMAT = "elastic"
RECOVERED = "recovered"
#: Context fields that say how bad an alert is (rule types name it differently), then the action group itself
#: (e.g. a metric threshold's "metrics.threshold.warning").
SEVERITY_FIELDS = ("severity", "alertState", "level")
LINK_FIELDS = {"link": "context", "alertDetailsUrl": "details", "viewInAppUrl": "app"}


class ElasticParser:
    """Reads a Kibana rule action's webhook body (the action variables under their names) as one alert."""

    format = FORMAT
    source = "elastic"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """An object with a ``rule`` object (``id`` or ``name``) and an ``alert`` object (``id`` or
        ``actionGroup``): Kibana's action variables."""
        if not isinstance(document, dict):
            return False
        rule, alert = document.get("rule"), document.get("alert")
        return (
            isinstance(rule, dict)
            and isinstance(alert, dict)
            and ("id" in rule or "name" in rule)
            and ("id" in alert or "actionGroup" in alert)
        )

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One action, one alert instance."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The alert instance as one alert; ``ParseError`` when the rule has no name or id."""
        rule, alert = document["rule"], document["alert"]
        context = mapping_at(document, "context", FORMAT)
        name = required_text(rule, "name", f"{FORMAT}: rule")
        rule_id = text_at(rule, "id", f"{FORMAT}: rule")
        instance = text_at(alert, "id", f"{FORMAT}: alert")
        group = text_at(alert, "actionGroup", f"{FORMAT}: alert")
        if not rule_id and not instance:
            raise ParseError(f"{FORMAT}: rule.id or alert.id is required (they identify the alert)")
        severity_word = (
            next((text_at(context, key, f"{FORMAT}: context") for key in SEVERITY_FIELDS if context.get(key)), "")
            or group.rsplit(".", 1)[-1]
        )
        # "{{rule.tags}}" renders as "a,b" inside a string; a hand-written body may give a list: both are read.
        labels = tag_labels(rule.get("tags"), f"{FORMAT}: rule.tags") | scalar_labels(
            {key: value for key, value in context.items() if key not in ("reason", "message")}
        )
        labels |= {key: value for key, value in (("rule_id", rule_id), ("alert_id", instance)) if value}
        if group:
            labels["action_group"] = group
        urls = {link: context.get(key) for key, link in LINK_FIELDS.items()}
        resolved = group.lower() == RECOVERED
        date = parse_time(document.get("date"), f"{FORMAT}: date")
        return [
            Alert(
                source=source_of(headers, self.source),
                format=FORMAT,
                status="resolved" if resolved else "firing",
                name=name,
                severity=normalize_severity(severity_word),
                severity_original=severity_word or None,
                summary=text_at(context, "reason", f"{FORMAT}: context") or name,
                description=text_at(context, "message", f"{FORMAT}: context"),
                labels=labels,
                # alert.id is stable across an instance's active and recovered actions (alert.uuid is too, but
                # only within one active period, and older Kibanas do not send it).
                fingerprint=stable_hash(("elastic", text_at(rule, "spaceId", FORMAT), rule_id, instance)),
                # ``date`` is when the rule scheduled this action: the start when active, the end when recovered.
                starts_at=None if resolved else date,
                ends_at=date if resolved else None,
                **_lifecycle(text_at(alert, "uuid", f"{FORMAT}: alert")),
                urls=gather_urls(source=rule.get("url"), **urls),
                payload=dict(document),
            )
        ]


def _lifecycle(uuid: str) -> dict[str, str]:
    # A recovered action does not say when its alert started, so no start time pairs it with the active one.
    # ``alert.uuid`` is one alert's for one active period (new when it fires again): it is the occurrence instead,
    # so the recovery finds the active alert's run and an action repeated every check interval is a repeat.
    return {"event_source": "kibana:alert.uuid", "event_id": uuid} if uuid else {}
