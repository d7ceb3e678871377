"""A source's ``severity_map`` applied after whichever parser read its messages (a field map's ``format``, or a
built-in parser for an entry that holds only a ``severity_map``): the sender's word (``severity_original``, e.g.
PagerDuty's ``P1`` or an EDR's ``90``) -> a severity of the scale, compared as trimmed lower-case text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.alert import Alert, Severity
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers.base import Parser
from services.ingest.parsers.errors import RefusedAlert
from services.ingest.parsers.field_maps import FieldMap


def map_severities(entries: list[Alert | RefusedAlert], *maps: Mapping[str, Severity]) -> list[Alert | RefusedAlert]:
    """``entries`` with each alert's severity taken from the first of ``maps`` that has its original word (an
    alert no map names keeps the parser's severity)."""
    if not any(maps):
        return entries
    return [entry if isinstance(entry, RefusedAlert) else _mapped(entry, maps) for entry in entries]


def _mapped(alert: Alert, maps: tuple[Mapping[str, Severity], ...]) -> Alert:
    if alert.severity_original is None:
        return alert
    key = alert.severity_original.strip().lower()
    severity = next((found for mapping in maps if (found := mapping.get(key)) is not None), None)
    return alert if severity is None or severity == alert.severity else alert.model_copy(update={"severity": severity})


class SeverityMapped:
    """A built-in parser whose alerts from the sources listed get their ``severity_map`` applied."""

    def __init__(self, parser: Parser, maps: Mapping[str, FieldMap]) -> None:
        self._parser = parser
        self._maps = {source: dict(entry.severity_map) for source, entry in maps.items() if entry.severity_map}
        self.format = parser.format

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """The parser's own answer."""
        return self._parser.accepts(document, headers)

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """The parser's own count."""
        return self._parser.count(document, headers)

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The parser's alerts, with the severity map of the record's source (if any) applied."""
        entries = self._parser.parse(document, headers)
        mapping = self._maps.get(headers.get(SOURCE_HEADER, "").strip())
        return map_severities(entries, mapping) if mapping else entries
