"""Checks on a webhook request before anything is written: source name, content type, size, JSON, and how many
alerts it carries."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import ClientDisconnect

from schemas.sources import SOURCE_PATTERN

if TYPE_CHECKING:
    from starlette.requests import Request

#: The status logged and counted for a request whose sender went away before its body arrived (nginx's
#: "client closed request"): no one reads the answer.
CLIENT_CLOSED = 499


class Rejected(Exception):
    """The request cannot be accepted; ``status`` is the HTTP status to answer with, ``reason`` says why (in the
    log, and to the sender unless ``public`` says what the sender is told instead), ``headers`` go on the answer
    (``WWW-Authenticate`` on a 401, ``Retry-After`` on a 503)."""

    def __init__(
        self, status: int, reason: str, headers: Mapping[str, str] | None = None, public: str | None = None
    ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, dict(headers or {})
        self.public = reason if public is None else public
        #: Set once the refusal was logged (inside the alert's span), so it is logged once.
        self.logged = False


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


async def read_limited(request: Request, limit: int, timeout_s: float) -> bytes:
    """The body, refusing (413) before reading more than ``limit`` bytes, whatever Content-Length claims, and
    (408) when it has not all arrived within ``timeout_s`` seconds. A sender that disconnects mid-body is
    ``Rejected`` with ``CLIENT_CLOSED``: nothing is written, and it is not an error of the bridge."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"body of {declared} bytes is larger than the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    try:
        # One deadline for the whole body, not per chunk: a byte every few seconds would pass a per-read timeout.
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Rejected(413, f"body is larger than the {limit}-byte limit")
                chunks.append(chunk)
    except TimeoutError:
        raise Rejected(
            408, f"the body did not arrive within {timeout_s:g}s ({size} bytes read)", {"Connection": "close"}
        ) from None
    except ClientDisconnect:
        raise Rejected(CLIENT_CLOSED, f"the sender disconnected after {size} bytes of the body") from None
    return b"".join(chunks)


def check_json_object(body: bytes, max_alerts: int) -> None:
    """Reject bodies ingest could only dead-letter (not JSON at all, or JSON that is neither an object nor an array:
    arrays are Prometheus's postable alerts and CloudEvents batches) and bodies of more than ``max_alerts`` alerts
    (413, checked first: a huge JSON list is refused for its size)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Rejected(400, f"body is not valid JSON: {error}") from None
    if could_exceed(len(body), 1, max_alerts):
        check_alert_count(alerts_in(document), max_alerts)
    if not isinstance(document, dict | list):
        raise Rejected(400, f"body must be a JSON object or array, got a JSON {type(document).__name__}")


def alerts_in(document: Any) -> int:
    """How many alerts one JSON document can become, at most: the largest number of JSON objects in any one list
    inside it (an Alertmanager or Grafana ``alerts`` list, or whichever list a field map's ``each`` names: ingest
    makes an alert of each element), and at least 1. Counted without recursion, so any nesting depth is safe."""
    most = 1
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            most = max(most, sum(isinstance(item, dict) for item in value))
            pending.extend(value)
    return most


def could_exceed(size: int, documents: int, cap: int) -> bool:
    """Whether ``documents`` JSON documents in ``size`` bytes could carry more than ``cap`` alerts (``alerts_in``
    each): a list of n objects takes at least 3n - 1 bytes (``{},{}``), so a small body never needs counting."""
    return documents + (size + 1) // 3 > cap


def check_alert_count(count: int, cap: int) -> None:
    """Refuse (413, naming the cap) a request that carries more than ``cap`` alerts."""
    if count > cap:
        raise Rejected(
            413, f"the request carries {count} alerts, more than the {cap}-alert limit per request "
            "(WEBHOOK_MAX_ALERTS_PER_REQUEST): split it into smaller requests"
        )  # fmt: skip
