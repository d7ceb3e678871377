"""Azure Monitor alerts in the common alert schema (``schemaId: azureMonitorCommonAlertSchema``), as an action
group's webhook posts them: ``data.essentials`` (the same fields for metric, log and activity-log alerts) and
``data.alertContext`` (what the signal type adds).

What identifies an alert across its notifications: ``alertId`` names one fired instance (a new one each time the
rule fires again), so the rule and what it fired on do: ``alertRule`` with ``alertTargetIDs`` and, for a metric
alert split by dimensions, the dimension values (each combination is an alert of its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert, AlertStatus
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import (
    gather_urls,
    optional_string,
    parse_time,
    severity_from_scale,
    source_of,
    stable_hash,
)

SCHEMA_ID = "azureMonitorCommonAlertSchema"
MONITOR_CONDITION: dict[str, AlertStatus] = {"fired": "firing", "resolved": "resolved"}


class AzureMonitorParser:
    """Reads Azure Monitor's common alert schema."""

    format = "azure.monitor.common"
    source = "azure-monitor"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """A body with ``schemaId`` ``azureMonitorCommonAlertSchema``."""
        return isinstance(document, dict) and document.get("schemaId") == SCHEMA_ID

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One alert per notification."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The one alert ``data.essentials`` describes; ``ParseError`` naming a missing or invalid field."""
        data = document.get("data")
        essentials = data.get("essentials") if isinstance(data, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(essentials, Mapping):
            raise ParseError("azure.monitor: data.essentials must be an object")
        context = data.get("alertContext")
        context = context if isinstance(context, Mapping) else {}
        where = "azure.monitor: data.essentials"
        rule = optional_string(essentials.get("alertRule"), f"{where}.alertRule")
        if rule is None or not rule.strip():
            raise ParseError(f"{where}.alertRule is required")
        condition = essentials.get("monitorCondition")
        if not isinstance(condition, str) or condition.lower() not in MONITOR_CONDITION:
            raise ParseError(f"{where}.monitorCondition must be 'Fired' or 'Resolved', got {condition!r}")
        severity = optional_string(essentials.get("severity"), f"{where}.severity")
        targets = _targets(essentials.get("alertTargetIDs"), where)
        dimensions = metric_dimensions(context)
        rule_id = optional_string(essentials.get("alertRuleID"), f"{where}.alertRuleID")
        identity = (rule_id or rule).lower(), *(target.lower() for target in targets), *sorted(dimensions.items())
        return [
            Alert(
                source=source_of(headers, self.source),
                format=self.format,
                status=MONITOR_CONDITION[condition.lower()],
                name=rule.strip(),
                severity=severity_from_scale(severity, "sev"),  # Sev0-Sev4, Azure's own scale
                severity_original=severity,
                summary=rule.strip(),
                description=optional_string(essentials.get("description"), f"{where}.description") or "",
                labels={**_labels(essentials, targets, dimensions), **_strings(data.get("customProperties"))},
                fingerprint=stable_hash(("azure.monitor", *(str(part) for part in identity))),
                starts_at=parse_time(essentials.get("firedDateTime"), f"{where}.firedDateTime"),
                ends_at=parse_time(essentials.get("resolvedDateTime"), f"{where}.resolvedDateTime"),
                urls=gather_urls(source=essentials.get("investigationLink"), search=search_link(context)),
                payload=dict(document),
            )
        ]


def search_link(context: Mapping[str, Any]) -> Any:
    """The log search behind a log alert: in its first criterion (log search alerts v2) or the context (v1)."""
    condition = context.get("condition")
    all_of = condition.get("allOf") if isinstance(condition, Mapping) else None
    first = all_of[0] if isinstance(all_of, list) and all_of and isinstance(all_of[0], Mapping) else {}
    return first.get("linkToSearchResultsUI") or context.get("LinkToSearchResults")


def _strings(value: Any) -> dict[str, str]:
    # The action group's custom properties: text key/value pairs routing can match, null when none are set.
    if not isinstance(value, Mapping):
        return {}
    return {str(key): item for key, item in value.items() if isinstance(item, str)}


def _targets(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ParseError(f"{where}.alertTargetIDs must be a list of strings")
    return list(value)


def metric_dimensions(context: Mapping[str, Any]) -> dict[str, str]:
    """The dimension values of a metric alert's conditions (``alertContext.condition.allOf[].dimensions``)."""
    condition = context.get("condition")
    all_of = condition.get("allOf") if isinstance(condition, Mapping) else None
    dimensions: dict[str, str] = {}
    for criterion in all_of if isinstance(all_of, list) else []:
        entries = criterion.get("dimensions") if isinstance(criterion, Mapping) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                dimensions[entry["name"]] = str(entry.get("value", ""))
    return dimensions


def _labels(essentials: Mapping[str, Any], targets: list[str], dimensions: Mapping[str, str]) -> dict[str, str]:
    labels = {
        label: essentials[key]
        for key, label in (("signalType", "signal_type"), ("monitoringService", "monitoring_service"))
        if isinstance(essentials.get(key), str)
    }
    if targets:
        labels.update(resource_labels(targets[0]))
    items = essentials.get("configurationItems")
    if isinstance(items, list) and items and all(isinstance(item, str) for item in items):
        labels["configuration_items"] = ",".join(items)
    return {**labels, **dimensions}


def resource_labels(resource_id: str) -> dict[str, str]:
    """Subscription, resource group and resource name of an Azure resource ID
    (``/subscriptions/<id>/resourceGroups/<group>/providers/<namespace>/<type>/<name>``)."""
    parts = resource_id.strip("/").split("/")
    pairs = {parts[i].lower(): parts[i + 1] for i in range(0, len(parts) - 1, 2)}
    labels = {"resource_id": resource_id}
    if "subscriptions" in pairs:
        labels["subscription"] = pairs["subscriptions"]
    if "resourcegroups" in pairs:
        labels["resource_group"] = pairs["resourcegroups"]
    if "providers" in parts[:-1] and len(parts) >= 2:
        labels["resource"] = parts[-1]
    return labels
