"""Splunk's webhook alert action: ``{"result": {<first result row>}, "sid", "results_link", "search_name", "owner",
"app"}``, one request per triggered alert (or per result, with "trigger for each result").

Splunk alerts only fire: a search that stops matching sends nothing, so every alert is firing. What identifies
one is the search (app, owner, name) and the result's own fields (its host, user...): the same search matching the
same thing again is the same alert (deduplicated), matching another host is another. Splunk's internal fields
(``_time``, ``_raw``, ``_serial``...), the sid and the statistics a ``stats`` search computes (``count``, and every
``fn(field)`` column such as ``avg(bytes)``) change on every run, so they are left out of it.
``search_name`` is null for an ad hoc search; the alert is then named after the app and the sid's saved search.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.fields import gather_urls, normalize_severity, source_of, stable_hash
from services.ingest.parsers.vendor_fields import epoch_or_rfc3339, mapping_at, scalar_labels, text_at

FORMAT = "splunk"
#: Result fields teams add (``| eval severity=...``) to say how bad a match is, in order of preference.
SEVERITY_FIELDS = ("severity", "urgency", "priority", "level")
#: Result columns that measure rather than identify (``fn(field)`` columns are left out as well).
STATISTICS = frozenset({"count", "sum", "avg", "min", "max", "dc", "distinct_count", "percent", "rate"})


class SplunkParser:
    """Reads Splunk's webhook alert action body as one firing alert."""

    format = FORMAT
    source = "splunk"

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """An object with ``sid``, ``search_name`` and ``result`` (the alert action's fixed keys)."""
        return isinstance(document, dict) and all(key in document for key in ("sid", "search_name", "result"))

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """One trigger, one alert."""
        return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The trigger as one alert; ``ParseError`` when ``sid`` is missing or a field has the wrong type."""
        sid = text_at(document, "sid", FORMAT)
        if not sid:
            raise ParseError(f"{FORMAT}: sid is required (every Splunk search run has one)")
        result = mapping_at(document, "result", FORMAT)
        app, owner = text_at(document, "app", FORMAT), text_at(document, "owner", FORMAT)
        name = text_at(document, "search_name", FORMAT) or _ad_hoc_name(app, sid)
        fields = scalar_labels({key: value for key, value in result.items() if not key.startswith("_")})
        severity_word = next((fields[key] for key in SEVERITY_FIELDS if fields.get(key)), "")
        labels = fields | {key: value for key, value in (("app", app), ("owner", owner)) if value}
        return [
            Alert(
                source=source_of(headers, self.source),
                format=FORMAT,
                status="firing",
                name=name,
                severity=normalize_severity(severity_word),
                severity_original=severity_word or None,
                summary=name,
                description=str(result.get("_raw", ""))[:4096] if isinstance(result.get("_raw"), str) else "",
                labels=labels,
                fingerprint=stable_hash(("splunk", app, owner, name, *_identifying(fields))),
                starts_at=epoch_or_rfc3339(result.get("_time"), f"{FORMAT}: result._time"),
                urls=gather_urls(source=document.get("results_link")),
                payload=dict(document),
            )
        ]


def _identifying(fields: Mapping[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in sorted(fields.items()) if key not in STATISTICS and "(" not in key]


def _ad_hoc_name(app: str, sid: str) -> str:
    # A scheduled search's sid is "scheduler__<owner>__<app>__<saved search id>_at_<epoch>_<n>"; an ad hoc one's is
    # only a number, so the app names it.
    if sid.startswith("scheduler__"):
        saved = sid.split("__")[-1].split("_at_")[0]
        if saved:
            return f"Splunk search {saved}"
    return f"Splunk search in {app}" if app else "Splunk search"
