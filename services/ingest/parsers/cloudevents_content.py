"""How a CloudEvent travels: its content mode (structured, batch, binary), its attributes and its data.

The Kafka and HTTP protocol bindings let the content type decide the mode: ``application/cloudevents+json`` is one
structured event (the body is the event, whatever ``ce_*`` headers also travel), ``application/cloudevents-batch+json``
a JSON array of structured events, and any other content type with a ``ce_specversion`` header is binary mode (the
attributes are the ``ce_*`` headers, the body is the event's ``data``). Without a content type, the body says it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import orjson

from services.ingest.parsers.errors import ParseError
from services.ingest.parsers.fields import parse_time

#: The Kafka protocol binding prefixes every attribute header with this (binary content mode); the webhook renames
#: the HTTP binding's ``ce-`` headers to it.
HEADER_PREFIX = "ce_"
STRUCTURED_MEDIA_TYPE = "application/cloudevents"
BATCH_MEDIA_TYPE = "application/cloudevents-batch"
#: The context attributes of CloudEvents 1.0 and the JSON format's data members; every other member is an extension.
CORE_ATTRIBUTES = frozenset(
    ("specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time", "data", "data_base64")
)
#: RFC 3339 ``date-time`` (the spec's Timestamp type): Python's ``fromisoformat`` also takes dates alone and the ISO
#: basic format, which are not CloudEvents times.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")

Mode = Literal["structured", "batch", "binary"]


def media_type(headers: Mapping[str, str]) -> str:
    """The content type without parameters, lower-cased ('' when absent)."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def content_mode(document: Any, headers: Mapping[str, str]) -> Mode | None:
    """Which CloudEvents content mode the message is in, or None when it is no CloudEvent (cheap; never raises)."""
    media = media_type(headers)
    if media.startswith(BATCH_MEDIA_TYPE):
        return "batch"
    if media.startswith(STRUCTURED_MEDIA_TYPE):
        return "structured"
    if headers.get(f"{HEADER_PREFIX}specversion"):
        # A plain JSON body that is the very event the headers announce (same id) is that event restated, not
        # data: reading it as data would lose its title and severity. Any other body is the event's data.
        return "structured" if _restates(document, headers) else "binary"
    if isinstance(document, dict) and "specversion" in document:
        return "structured"
    if isinstance(document, list) and document and isinstance(document[0], dict) and "specversion" in document[0]:
        return "batch"
    return None


def _restates(document: Any, headers: Mapping[str, str]) -> bool:
    return (
        isinstance(document, dict)
        and "specversion" in document
        and document.get("id") == headers.get(f"{HEADER_PREFIX}id")
    )


def binary_event(data: Any, headers: Mapping[str, str]) -> dict[str, Any]:
    """Rebuild the structured event from binary mode, so both modes parse (and store) the same way."""
    event: dict[str, Any] = {
        key[len(HEADER_PREFIX) :]: value for key, value in headers.items() if key.startswith(HEADER_PREFIX)
    }
    if headers.get("content-type"):
        event.setdefault("datacontenttype", headers["content-type"])
    # The body is the event's data, whatever JSON it is.
    event["data"] = data
    return event


def event_data(event: Mapping[str, Any], where: str) -> Any:
    """The event's data as a value: ``data`` as it is (a JSON object encoded as a string too, which some SDKs send),
    ``data_base64`` decoded (JSON when its content type is JSON or unsaid, text for ``text/*``), None when there is
    none or it is opaque bytes. ``ParseError`` when ``data_base64`` is not base64, or is not the JSON it says it is."""
    if "data_base64" not in event:
        return _plain_data(event.get("data"), event.get("datacontenttype"))
    if "data" in event:
        raise ParseError(f"{where}: an event has data or data_base64, not both")
    encoded = event["data_base64"]
    if not isinstance(encoded, str):
        raise ParseError(f"{where}: data_base64 must be a base64 string, got {type(encoded).__name__}")
    content_type = event.get("datacontenttype")
    media = content_type.split(";", 1)[0].strip().lower() if isinstance(content_type, str) else ""
    if not _is_json(content_type) and not media.startswith("text/"):
        return None  # bytes alertmesh cannot read (an image, Thrift, ...): kept in the payload, never decoded
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError(f"{where}: data_base64 is not valid base64") from None
    if media.startswith("text/"):
        return raw.decode("utf-8", errors="replace")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        if media:  # said JSON and is not: the sender's mistake, said so
            raise ParseError(f"{where}: data_base64 is not the JSON its datacontenttype {media!r} says") from None
        return None  # no content type: opaque bytes, kept in the payload


def _plain_data(data: Any, content_type: Any) -> Any:
    """``data`` as it is, or the object a JSON-typed string holds (some SDKs encode the object twice)."""
    if isinstance(data, str) and data.lstrip().startswith("{") and _is_json(content_type):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return data
    return data


def _is_json(content_type: Any) -> bool:
    """JSON data: the content type is absent (the JSON format's default), ``*/json`` or ``*+json``."""
    if not isinstance(content_type, str) or not content_type.strip():
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media.endswith(("/json", "+json"))


def event_time(value: Any, where: str) -> datetime | None:
    """The ``time`` attribute: an RFC 3339 timestamp (absent is fine); anything else is refused, saying why."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ParseError(f"{where}: time must be an RFC 3339 string (e.g. 2026-11-20T08:15:02Z), not a number: {value}")
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ParseError(f"{where}: invalid timestamp {value!r} (expected RFC 3339, e.g. 2026-11-20T08:15:02Z)")
    text = value.upper()
    if text[17:19] == "60":  # a leap second: RFC 3339 allows it, Python does not; the instant is the next second's edge
        text = f"{text[:17]}59.999999{text[_fraction_end(text) :]}"
    return parse_time(text, where)


def _fraction_end(text: str) -> int:
    """Where the seconds' fraction of an RFC 3339 time ends (the zone starts)."""
    end = 19
    if len(text) > end and text[end] == ".":
        end += 1
        while text[end].isdigit():
            end += 1
    return end
