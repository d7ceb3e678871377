"""The Kafka headers the webhook bridge writes with a body, CloudEvents HTTP binary mode included.

In binary mode (CloudEvents HTTP protocol binding) the event's attributes arrive as ``ce-*`` HTTP headers and the
body is its ``data``. The bridge renames them to the Kafka binding's ``ce_*`` headers, so ingest reads an event
that came over HTTP exactly like one a Kafka producer sent in binary mode: one parser, one place for the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from schemas.sources import SOURCE_HEADER

HTTP_PREFIX = "ce-"
KAFKA_PREFIX = "ce_"


def is_binary_cloudevent(request_headers: Mapping[str, str]) -> bool:
    """A CloudEvent in HTTP binary mode: its ``ce-specversion`` header is set."""
    return bool(request_headers.get(f"{HTTP_PREFIX}specversion", "").strip())


def raw_record_headers(source: str, content_type: str, request_headers: Mapping[str, str]) -> dict[str, str]:
    """The path's source, the body's content type and, in binary mode, every ``ce-*`` attribute as ``ce_*``.

    The HTTP binding percent-encodes attribute values that are not printable ASCII; Kafka headers carry them
    as UTF-8, so they are decoded here. Header names arrive lower-cased (HTTP/2 and ASGI), as the binding wants.
    """
    headers = {SOURCE_HEADER: source, "content-type": content_type}
    if is_binary_cloudevent(request_headers):
        for name, value in request_headers.items():
            lowered = name.lower()
            if lowered.startswith(HTTP_PREFIX) and len(lowered) > len(HTTP_PREFIX):
                headers[KAFKA_PREFIX + lowered[len(HTTP_PREFIX) :]] = unquote(value)
    return headers
