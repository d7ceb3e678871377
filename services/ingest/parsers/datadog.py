"""Datadog webhooks integration: the default payload template and the fields teams add to it.

Datadog fills a JSON template per notification. The default one is ``{"body": "$EVENT_MSG", "last_updated":
"$LAST_UPDATED", "event_type": "$EVENT_TYPE", "title": "$EVENT_TITLE", "date": "$DATE", "org": {"id": "$ORG_ID",
"name": "$ORG_NAME"}, "id": "$ID"}``; teams usually add ``alert_id`` ($ALERT_ID, the monitor), ``alert_transition``
($ALERT_TRANSITION), ``priority`` ($ALERT_PRIORITY), ``aggreg_key`` ($AGGREG_KEY), ``scope`` ($ALERT_SCOPE),
``tags`` ($TAGS), ``link`` ($LINK), ``alert_type`` ($ALERT_TYPE), ``hostname`` ($HOSTNAME) under those names.
``id`` is the *event's* id (new for every notification), so it never identifies the alert. Teams name the added
fields in snake_case or camelCase (``alert_id``, ``alertId``); both are read (``ALIASES``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert, AlertStatus
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import gather_urls, normalize_severity, source_of, stable_hash
from services.ingest.parsers.vendor_fields import epoch_or_rfc3339, mapping_at, scalar_labels, tag_labels, text_at

FORMAT = "datadog"
#: Keys of the default template besides event_type and title; one of them (or an added monitor field) must be there.
DATADOG_KEYS = ("org", "last_updated", "date", "alert_id", "alertId", "alert_transition", "alertTransition")
#: The names teams give the variables they add to the template, by the name this module reads them under.
ALIASES = {
    "alert_id": ("alert_id", "alertId", "monitor_id", "monitorId"),
    "alert_transition": ("alert_transition", "alertTransition", "transition"),
    "alert_cycle_key": ("alert_cycle_key", "alertCycleKey"),
    "aggreg_key": ("aggreg_key", "aggregKey", "aggregation_key"),
    "priority": ("priority", "alert_priority", "alertPriority"),
    "scope": ("scope", "alert_scope", "alertScope"),
    "alert_type": ("alert_type", "alertType"),
    "hostname": ("hostname", "host"),
    "link": ("link", "url", "event_link"),
    "body": ("body", "event_msg", "eventMsg", "text_only_msg"),
}
#: $ALERT_TRANSITION values that end an alert; every other one (Triggered, Re-Triggered, Warn, Re-Warn, No Data,
#: Re-No Data, Renotify) means it is still on.
RESOLVED_TRANSITIONS = frozenset({"recovered", "resolved", "ok"})
#: The bracketed prefixes of $EVENT_TITLE: "[Triggered on {host:web-1}] [P1] CPU high" names "CPU high".
#: Only Datadog's own prefixes (a transition, maybe "on {scope}", or a priority): a monitor named "[prod] CPU" keeps
#: its "[prod]".
TITLE_PREFIX = re.compile(
    r"^\s*\[((?:Re-)?(?:Triggered|Recovered|Warn|No Data|Renotify|Resolved)(?: on \{[^}]*\})?|P[1-5])\]\s*",
    re.IGNORECASE,
)
SCOPE_IN_PREFIX = re.compile(r"\bon\s+\{(.*)\}\s*$")
PRIORITY = re.compile(r"^P[1-5]$", re.IGNORECASE)
#: Fields copied to labels under these names when present.
LABEL_FIELDS = ("alert_id", "alert_type", "hostname", "alert_transition")


class DatadogParser:
    """Reads the Datadog webhook template (default or extended) as one alert."""

    format = FORMAT
    source = "datadog"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """An object with ``event_type`` and ``title`` (the default template's) and one more Datadog field."""
        return (
            isinstance(document, dict)
            and isinstance(document.get("event_type"), str)
            and "title" in document
            and any(key in document for key in DATADOG_KEYS)
        )

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One notification, one alert."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The notification as one alert; ``ParseError`` when it has no title or a field has the wrong type."""
        field = _fields(document)
        title = text_at(document, "title", FORMAT)
        prefixes, name = _split_title(title)
        if not name:
            raise ParseError(f"{FORMAT}: title is required (the template's $EVENT_TITLE)")
        scope = field["scope"] or _scope_from(prefixes)
        priority = field["priority"] or next((p for p in prefixes if PRIORITY.match(p)), "")
        org = mapping_at(document, "org", FORMAT)
        labels = {
            **tag_labels(document.get("tags"), f"{FORMAT}.tags"),
            **tag_labels(scope, f"{FORMAT}.scope"),
            **{key: field[key] for key in LABEL_FIELDS if field[key]},
            **scalar_labels({"event_type": document["event_type"]}),
            **({"scope": scope} if scope else {}),
            **({"priority": priority} if priority else {}),
            **({"org": text_at(org, "name", f"{FORMAT}.org")} if org.get("name") else {}),
        }
        severity_word = priority or field["alert_type"]
        status = _status(field["alert_transition"] or _transition_from(prefixes), field["alert_type"])
        date = epoch_or_rfc3339(document.get("date"), f"{FORMAT}.date")
        alert = Alert(
            source=source_of(headers, self.source),
            format=FORMAT,
            status=status,
            name=name,
            severity=normalize_severity(severity_word),
            severity_original=severity_word or None,
            summary=title,
            description=field["body"],
            labels=labels,
            fingerprint=_fingerprint(field, text_at(org, "id", f"{FORMAT}.org"), name, scope),
            # $DATE is when this notification's event happened: the start for a trigger, the end for a recovery.
            starts_at=date if status == "firing" else None,
            ends_at=date if status == "resolved" else None,
            **_lifecycle(field["alert_cycle_key"], text_at(org, "id", f"{FORMAT}.org")),
            urls=gather_urls(source=field["link"], snapshot=document.get("snapshot")),
            payload=dict(document),
        )
        return [alert]


def _fields(document: Mapping[str, Any]) -> dict[str, str]:
    # Each field under the first of its names the body uses; "" when none.
    return {
        field: next((text for name in names if (text := text_at(document, name, FORMAT))), "")
        for field, names in ALIASES.items()
    }


def _lifecycle(cycle_key: str, org_id: str) -> dict[str, str]:
    # A recovery does not say when its alert started, so the start time cannot pair it with its trigger (as
    # Alertmanager's startsAt does). $ALERT_CYCLE_KEY is one alert's from trigger to recovery and new for the next:
    # it is the occurrence instead, so a recovery finds its trigger's run and a renotification is a repeat.
    if not cycle_key:
        return {}
    return {"event_source": f"datadog:{org_id}:alert_cycle", "event_id": cycle_key}


def _split_title(title: str) -> tuple[list[str], str]:
    prefixes = []
    while match := TITLE_PREFIX.match(title):
        prefixes.append(match.group(1).strip())
        title = title[match.end() :]
    return prefixes, title.strip()


def _transition_from(prefixes: list[str]) -> str:
    return next((prefix.split(" on ")[0] for prefix in prefixes if not PRIORITY.match(prefix)), "")


def _scope_from(prefixes: list[str]) -> str:
    matches = (SCOPE_IN_PREFIX.search(prefix) for prefix in prefixes)
    return next((match.group(1).strip() for match in matches if match), "")


def _status(transition: str, alert_type: str) -> AlertStatus:
    if transition:
        return "resolved" if transition.lower() in RESOLVED_TRANSITIONS else "firing"
    # Without a transition, $ALERT_TYPE "success" is what a recovery is sent as.
    return "resolved" if alert_type.lower() == "success" else "firing"


def _fingerprint(field: Mapping[str, str], org_id: str, name: str, scope: str) -> str:
    # $ALERT_CYCLE_KEY links one alert's events from trigger to recovery: exactly one alert. Without it, a monitor
    # alerts once per group (scope), so the monitor id and the group identify it; $AGGREG_KEY is Datadog's key for
    # the events of one alert. The default template has none of these: the title's name and scope then do.
    if field["alert_cycle_key"]:
        return stable_hash(("datadog", org_id, "cycle", field["alert_cycle_key"]))
    if field["alert_id"]:
        return stable_hash(("datadog", org_id, "monitor", field["alert_id"], scope))
    if field["aggreg_key"]:
        return stable_hash(("datadog", org_id, "aggregation", field["aggreg_key"]))
    return stable_hash(("datadog", org_id, "title", name, scope))
