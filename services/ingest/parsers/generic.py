"""Any JSON a source sends, read through the field map configured for that source (``field_maps``).

Chosen by source: the webhook path's ``{source}`` (or the ``alertmesh-source`` header) that has a map. A map is
the user's explicit word, so it is tried before the built-in formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from schemas.alert import Alert
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.field_maps import FieldMap
from services.ingest.parsers.fields import (
    each_alert,
    gather_urls,
    list_length,
    normalize_severity,
    original_severity,
    parse_status,
    parse_time,
    stable_hash,
)
from services.ingest.parsers.jsonpath import read


class GenericParser:
    """Reads the sources that have a field map; every other message is left to the built-in parsers."""

    format = "generic"

    def __init__(self, maps: Mapping[str, FieldMap]) -> None:
        self._maps = dict(maps)

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """Whether the record's source header names a source that has a field map."""
        return headers.get(SOURCE_HEADER, "").strip() in self._maps

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """The length of the list the source's ``each`` leads to (1 without ``each``, or when it is no list)."""
        each = self._maps[headers[SOURCE_HEADER].strip()].steps("each")
        if each is None:
            return 1
        try:
            return list_length(read(document, each))
        except Exception:  # a path that does not resolve: ``parse`` says why
            return 1

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The alerts the source's field map reads (one per item of its ``each`` list when it has one, an invalid
        item refused on its own: ``RefusedAlert``); ``ParseError`` naming the field that is missing or invalid."""
        source = headers[SOURCE_HEADER].strip()
        field_map = self._maps[source]
        where = f"generic ({source})"
        each = field_map.steps("each")
        if each is None:
            return [self._alert(document, field_map, source, where)]
        items = read(document, each)
        if not isinstance(items, list) or not items:
            raise ParseError(f"{where}: 'each' ({field_map.each}) must lead to a non-empty list")
        return each_alert(
            items, f"{where}: {field_map.each}", lambda item, at: self._alert(item, field_map, source, at)
        )

    def _alert(self, item: Any, field_map: FieldMap, source: str, where: str) -> Alert:
        if not isinstance(item, Mapping):
            raise ParseError(f"{where} must be an object, got {type(item).__name__}")

        def value(field: str) -> Any:
            steps = field_map.steps(field)
            return None if steps is None else read(item, steps)

        title = _text(value("title"))
        if not title or not title.strip():
            raise ParseError(f"{where}: no title at {field_map.title}")
        labels = _labels(item, field_map, where)
        severity_word = original_severity(value("severity"))
        severity = field_map.severity_map.get(severity_word.strip().lower()) if severity_word else None
        fingerprint = _text(value("fingerprint"))
        return Alert(
            source=source,
            format=self.format,
            status=_status(value("status"), field_map, where),
            name=title.strip(),
            severity=severity or normalize_severity(severity_word),
            severity_original=severity_word,
            summary=_text(value("summary")) or "",
            description=_text(value("description")) or "",
            labels=labels,
            fingerprint=fingerprint or stable_hash([title, *(f"{k}={v}" for k, v in sorted(labels.items()))]),
            starts_at=_time(value("starts_at"), f"{where}: starts_at ({field_map.starts_at})"),
            ends_at=_time(value("ends_at"), f"{where}: ends_at ({field_map.ends_at})"),
            urls=gather_urls(**{name: value(f"urls.{name}") for name in field_map.urls}),
            payload=dict(item),
        )


def _text(value: Any) -> str | None:
    """Strings as they are, numbers as text (ids and scores often are numbers); anything else is absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _labels(item: Mapping[str, Any], field_map: FieldMap, where: str) -> dict[str, str]:
    if isinstance(field_map.labels, str):
        steps = field_map.steps("labels")
        found = read(item, steps) if steps is not None else None
        if found is None:
            return {}
        if not isinstance(found, Mapping):
            raise ParseError(f"{where}: labels ({field_map.labels}) must lead to an object, got {type(found).__name__}")
        # Only scalar values are labels (routing compares text); nested objects stay in the payload.
        return {str(key): text for key, raw in found.items() if (text := _text(raw)) is not None}
    labels: dict[str, str] = {}
    for name in field_map.labels or {}:
        steps = field_map.steps(f"labels.{name}")
        text = _text(read(item, steps)) if steps is not None else None
        if text is not None:
            labels[name] = text
    return labels


def _status(raw: Any, field_map: FieldMap, where: str) -> Any:
    if raw is None:
        return "firing"
    text = _text(raw)
    mapped = field_map.status_map.get(text.strip().lower()) if text is not None else None
    return mapped or parse_status(raw, f"{where}: status ({field_map.status})")


def _time(raw: Any, where: str) -> datetime | None:
    # Unix times (seconds to nanoseconds, by size) and RFC 3339 text, with 0 as "no time": the shared rule.
    return parse_time(raw, where)
