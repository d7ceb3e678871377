"""Checks on a webhook request before anything is written: source name, content type, size, JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import orjson

from schemas.sources import SOURCE_PATTERN

if TYPE_CHECKING:
    from starlette.requests import Request


class Rejected(Exception):
    """The request cannot be accepted; ``status`` is the HTTP status to answer with, ``reason`` says why,
    ``headers`` go on the answer (``WWW-Authenticate`` on a 401, ``Retry-After`` on a 503)."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, dict(headers or {})


def check_source(source: str) -> None:
    """Raise Rejected (400) unless ``source``, the path's ``{source}``, matches ``SOURCE_PATTERN``."""
    if not SOURCE_PATTERN.fullmatch(source):
        raise Rejected(400, f"invalid source {source!r}: must match {SOURCE_PATTERN.pattern}")


def json_content_type(request: Request) -> str:
    """The request's Content-Type if it is JSON-ish (application/json, */*+json), else ``Rejected``."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in ("application/json", "text/json") and not media_type.endswith("+json"):
        got = repr(content_type) if content_type else "none"
        raise Rejected(400, f"Content-Type must be JSON (application/json or */*+json), got {got}")
    return content_type


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing (413) before reading more than ``limit`` bytes, whatever Content-Length claims."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"body of {declared} bytes is larger than the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"body is larger than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def check_json_object(body: bytes) -> None:
    """Reject bodies ingest could only dead-letter: not JSON at all, or JSON that is not an object."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Rejected(400, f"body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise Rejected(400, f"body must be a JSON object, got a JSON {type(document).__name__}")
