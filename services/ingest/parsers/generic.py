"""Any JSON a source sends, read through the field map configured for that source (``field_maps``).

Chosen by source: the webhook path's ``{source}`` (or the ``alertmesh-source`` header) that has a map. A map is
the user's explicit word, so it is tried before the built-in formats. The entry's first shape whose ``when`` holds
reads the message: with its fields, with the built-in parser its ``format`` names, or not at all (``drop``: the
message is no alert; counted in ``alertmesh_messages_not_alerts_total`` and logged, no dead letter).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dsl.values import truthy
from schemas.alert import Alert
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers.base import Parser
from services.ingest.parsers.errors import ParseError, RefusedAlert
from services.ingest.parsers.field_maps import FieldMap, Shape
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
from services.ingest.parsers.severity_maps import map_severities
from services.shared import metrics

log = logging.getLogger(__name__)


class GenericParser:
    """Reads the sources that have a field map; every other message is left to the built-in parsers."""

    format = "generic"

    def __init__(self, maps: Mapping[str, FieldMap], formats: Mapping[str, Parser] | None = None) -> None:
        # An entry holding only a severity_map is applied after the built-in parsers (``registry``), not here.
        self._maps = {source: entry for source, entry in maps.items() if not entry.severity_only}
        self._formats = dict(formats or {})
        if unknown := sorted({shape.format for entry in self._maps.values() for shape in entry.candidates()
                              if shape.format is not None and shape.format not in self._formats}):  # fmt: skip
            raise ValueError(f"field maps name unknown formats: {', '.join(unknown)}")

    def accepts(self, document: Any, headers: Mapping[str, str]) -> bool:
        """Whether the record's source header names a source that has a field map."""
        return headers.get(SOURCE_HEADER, "").strip() in self._maps

    def count(self, document: Any, headers: Mapping[str, str]) -> int:
        """How many alerts the shape that reads the message gives (the length of its ``each`` list, or what its
        format's parser counts; 0 for a dropped message; 1 when it cannot tell: ``parse`` then says why)."""
        source = headers[SOURCE_HEADER].strip()
        try:
            shape = self._shape(document, source)
        except ParseError:
            return 1
        if shape.drop:
            return 0
        if shape.format is not None:
            parser = self._formats[shape.format]
            return parser.count(document, headers) if parser.accepts(document, headers) else 1
        each = shape.value("each")
        return 1 if each is None else list_length(each.value(document, document))

    def parse(self, document: Any, headers: Mapping[str, str]) -> list[Alert | RefusedAlert]:
        """The alerts the source's field map reads (one per item of its ``each`` list when it has one, an invalid
        item refused on its own: ``RefusedAlert``); none for a message a ``drop`` shape takes; ``ParseError``
        naming the field that is missing or invalid, or the shapes tried when none holds."""
        source = headers[SOURCE_HEADER].strip()
        entry = self._maps[source]
        shape = self._shape(document, source)
        if shape.drop:
            metrics.count_not_alert(source, _shape_name(entry, shape))
            log.info("source %s: message dropped by shape %s (not an alert)", source, _shape_name(entry, shape))
            return []
        if shape.format is not None:
            parser = self._formats[shape.format]
            if not parser.accepts(document, headers):
                raise ParseError(f"generic ({source}): the field map reads this source as {shape.format}, "
                                 f"and the message is not {shape.format}")  # fmt: skip
            return map_severities(parser.parse(document, headers), shape.severity_map, entry.severity_map)
        where = f"generic ({source})"
        each = shape.value("each")
        if each is None:
            return [self._alert(document, document, shape, entry, source, where)]
        reading = each.read(document, document)
        if not isinstance(reading.value, list) or not reading.value:
            why = f" ({reading.failure})" if reading.failure else ""
            raise ParseError(f"{where}: 'each' ({shape.each}) must lead to a non-empty list{why}")
        return each_alert(
            reading.value,
            f"{where}: {shape.each}",
            lambda item, at: self._alert(document, item, shape, entry, source, at),
        )

    def _shape(self, document: Any, source: str) -> Shape:
        """The entry's first shape whose ``when`` holds (a ``when`` that fails does not); ``ParseError`` naming
        every shape tried and why it did not hold when none does."""
        entry = self._maps[source]
        tried = []
        for shape in entry.candidates():
            when = shape.value("when")
            if when is None:
                return shape
            reading = when.read(document, document)
            if reading.failure is None and truthy(reading.value):
                return shape
            tried.append(f"{_shape_name(entry, shape)} ({reading.failure or f'when is {reading.value!r}'})")
        raise ParseError(f"generic ({source}): no shape of the field map matches the message; tried: "
                         + "; ".join(tried))  # fmt: skip

    def _alert(self, payload: Any, item: Any, shape: Shape, entry: FieldMap, source: str, where: str) -> Alert:
        if not isinstance(item, Mapping):
            raise ParseError(f"{where} must be an object, got {type(item).__name__}")

        def value(field: str) -> Any:
            compiled = shape.value(field)
            return None if compiled is None else compiled.value(payload, item)

        title_value = shape.value("title")
        title_read = title_value.read(payload, item) if title_value is not None else None
        title = _text(title_read.value) if title_read is not None else None
        if not title or not title.strip():
            why = f" ({title_read.failure})" if title_read is not None and title_read.failure else ""
            raise ParseError(f"{where}: no title at {shape.title}{why}")
        labels = _labels(payload, item, shape, where)
        severity_word = original_severity(value("severity"))
        key = severity_word.strip().lower() if severity_word else None
        severity = (shape.severity_map.get(key) or entry.severity_map.get(key)) if key else None
        fingerprint = _text(value("fingerprint"))
        return Alert(
            source=source,
            format=self.format,
            status=_status(value("status"), shape, where),
            name=title.strip(),
            severity=severity or normalize_severity(severity_word),
            severity_original=severity_word,
            summary=_text(value("summary")) or "",
            description=_text(value("description")) or "",
            labels=labels,
            fingerprint=fingerprint or stable_hash([title, *(f"{k}={v}" for k, v in sorted(labels.items()))]),
            starts_at=_time(value("starts_at"), f"{where}: starts_at ({shape.starts_at})"),
            ends_at=_time(value("ends_at"), f"{where}: ends_at ({shape.ends_at})"),
            urls=gather_urls(**{name: value(f"urls.{name}") for name in shape.urls}),
            payload=dict(item),
        )


def _shape_name(entry: FieldMap, shape: Shape) -> str:
    if shape.name:
        return shape.name
    return f"shapes.{entry.candidates().index(shape)}" if entry.shapes is not None else "(the map)"


def _text(value: Any) -> str | None:
    """Strings as they are, numbers as text (ids and scores often are numbers); anything else is absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _labels(payload: Any, item: Mapping[str, Any], shape: Shape, where: str) -> dict[str, str]:
    if isinstance(shape.labels, str):
        compiled = shape.value("labels")
        found = compiled.value(payload, item) if compiled is not None else None
        if found is None:
            return {}
        if not isinstance(found, Mapping):
            raise ParseError(
                f"{where}: labels ({shape.labels}) must lead to an object, got {type(found).__name__} "
                "(FN.parse_tags reads lists of key:value tags)"
            )
        # Only scalar values are labels (routing compares text); nested objects stay in the payload.
        return {str(key): text for key, raw in found.items() if (text := _text(raw)) is not None}
    labels: dict[str, str] = {}
    for name in shape.labels or {}:
        named = shape.value(f"labels.{name}")
        text = _text(named.value(payload, item)) if named is not None else None
        if text is not None:
            labels[name] = text
    return labels


def _status(raw: Any, shape: Shape, where: str) -> Any:
    if raw is None:
        return "firing"
    text = _text(raw)
    mapped = shape.status_map.get(text.strip().lower()) if text is not None else None
    return mapped or parse_status(raw, f"{where}: status ({shape.status})")


#: A Unix time written as text (Datadog's ``$DATE``, many senders' epoch fields): digits, maybe a fraction.


def _time(raw: Any, where: str) -> datetime | None:
    # Unix times (seconds to nanoseconds, by size) and RFC 3339 text, with 0 as "no time": the shared rule.
    return parse_time(raw, where)
