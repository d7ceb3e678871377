"""Admission: the FastAPI dependencies a POST passes before anything is written, one chain in this order, each
refusing with ``Rejected`` (answered by the app's handler):

1. ``source_name``: the path's source is a valid name (400);
2. ``source_credentials``: when an API key can decide, it is valid (401), before the body is read; a source the
   credentials file does not know is refused exactly as a wrong key is (``auth``: one answer for both);
3. ``limited_body``: the body within ``WEBHOOK_MAX_BODY_BYTES`` (413), whatever Content-Length claims, and within
   ``WEBHOOK_BODY_READ_TIMEOUT_S`` (408); a sender gone mid-body is dropped quietly (nothing written);
4. ``authenticated_body``: a signature, where the source uses one, is valid for that body (401);
5. ``authenticated_span``: the alert's span opens, now that the request is authenticated; refusals from here on
   are recorded on it;
6. ``admitted_alert``: an SNS delivery's signature (401; ``sns``), a subscription confirmation confirmed and not
   written; the content type and the body: one JSON object, or an NDJSON batch within
   ``WEBHOOK_NDJSON_MAX_LINES`` (400, 413; each line is checked on its own, and answered on its own), of at most
   ``WEBHOOK_MAX_ALERTS_PER_REQUEST`` alerts (413).

Each step takes only the one before it (and the request), and finds the app's ``Bridge`` itself: FastAPI solves
a dependency's own dependencies every time it meets one, even when its value is cached, at some 15-20 us each. With
the bridge as a dependency of every step a POST solved 19 dependencies instead of 8, for about 8% more CPU.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Annotated

import orjson
from fastapi import Depends, Request
from opentelemetry.trace import Span

from services.webhook.alert_span import opened
from services.webhook.body import (
    Rejected,
    alerts_in,
    check_alert_count,
    check_json_object,
    check_source,
    could_exceed,
    json_content_type,
    read_limited,
)
from services.webhook.bridge import bridge_of
from services.webhook.credentials import SourceCredentials
from services.webhook.headers import is_binary_cloudevent
from services.webhook.ndjson import is_ndjson, split_lines
from services.webhook.sns import RAW_DELIVERY_HEADER, is_sns_delivery


async def source_name(source: str) -> str:
    """The path's source, once it is a valid source name."""
    check_source(source)
    return source


@dataclass(frozen=True)
class Presented:
    """A valid source, its credentials (None: authentication is off) and whether an API key already accepted the
    request."""

    source: str
    credentials: SourceCredentials | None
    key_accepted: bool


def unknown_named(rejected: Rejected, presented_source: str, request: Request) -> Rejected:
    """``rejected`` with a reason (for the log only: the sender's answer stays the same) saying the source is not
    in the credentials file, when it is not."""
    auth = bridge_of(request).auth
    if auth.enabled and not auth.knows(presented_source):
        rejected.reason = f"unknown source {presented_source!r}: it has no entry in the webhook credentials file"
    return rejected


async def source_credentials(source: Annotated[str, Depends(source_name)], request: Request) -> Presented:
    """401 when nothing but a (wrong or missing) key could pass, for a known and an unknown source alike. An API
    key is checked before the body is read; a signature needs the body, read within the limits."""
    auth = bridge_of(request).auth
    credentials = auth.credentials_for(source)
    try:
        key_ok = credentials is None or auth.check_without_body(credentials, request.headers)
    except Rejected as rejected:
        raise unknown_named(rejected, source, request) from None
    return Presented(source, credentials, key_ok)


@dataclass(frozen=True)
class Received:
    """The body of a request whose source and (where a key decides) credentials passed."""

    presented: Presented
    body: bytes


async def limited_body(presented: Annotated[Presented, Depends(source_credentials)], request: Request) -> Received:
    """The body, read only after the checks that need no body passed, refused past the size limit (413) or the
    read deadline (408)."""
    settings = bridge_of(request).settings
    return Received(presented, await read_limited(request, settings.max_body_bytes, settings.body_read_timeout_s))


@dataclass(frozen=True)
class Admitted:
    """What may be written: the source and the body, one JSON object or an NDJSON batch (``lines``: the batch's
    non-blank lines with their numbers, split once here; None for one document)."""

    source: str
    body: bytes
    lines: list[tuple[int, bytes]] | None = None
    #: Set when the request was answered here and nothing is to be written (an SNS subscription confirmation).
    answered: str | None = None


async def authenticated_body(received: Annotated[Received, Depends(limited_body)], request: Request) -> Admitted:
    """The source and body, once a source no API key accepted has a valid signature of it (401 otherwise)."""
    presented = received.presented
    if presented.credentials is not None and not presented.key_accepted:
        try:
            bridge_of(request).auth.check_signature(presented.credentials, request.headers, received.body)
        except Rejected as rejected:
            raise unknown_named(rejected, presented.source, request) from None
    return Admitted(presented.source, received.body)


async def authenticated_span(
    alert: Annotated[Admitted, Depends(authenticated_body)], request: Request
) -> AsyncIterator[Span]:
    """FastAPI dependency (function scope: it ends before the answer is sent): the alert's span, opened only now
    that the request is authenticated, so what follows (admission's last checks, the write) is recorded on it."""
    async with opened(alert.source, request) as span:
        yield span


#: A parameter that receives the alert's span (opening it, after authentication, on first use).
AlertSpan = Annotated[Span, Depends(authenticated_span, scope="function")]


async def admitted_alert(
    alert: Annotated[Admitted, Depends(authenticated_body)], _: AlertSpan, request: Request
) -> Admitted:
    """A request that may be written: an NDJSON batch of usable size, or one JSON object, of at most
    ``max_alerts_per_request`` alerts."""
    settings = bridge_of(request).settings
    if is_sns_delivery(request.headers):
        return await admitted_sns(alert, request, settings.max_alerts_per_request)
    if is_ndjson(request.headers.get("content-type", "")):
        # Each line is checked on its own when it is written, and answered on its own.
        lines = batch_lines(request, alert.body, settings.ndjson_max_lines)
        if could_exceed(len(alert.body), len(lines), settings.max_alerts_per_request):
            check_alert_count(batch_alerts(lines), settings.max_alerts_per_request)
        return replace(alert, lines=lines)
    json_content_type(request)
    check_json_object(alert.body, settings.max_alerts_per_request)
    return alert


async def admitted_sns(alert: Admitted, request: Request, max_alerts: int) -> Admitted:
    """An SNS delivery, whatever its Content-Type (SNS sends ``text/plain``): a signed message only when its
    signature is valid (401), a subscription confirmation confirmed and answered without writing it. A raw
    message delivery carries no signature (SNS signs only its envelope): its source's credentials decide alone."""
    bridge = bridge_of(request)
    if request.headers.get(RAW_DELIVERY_HEADER, "").lower() != "true":
        message = await bridge.sns.verified(alert.body)
        if message.get("Type") == "SubscriptionConfirmation":
            await bridge.sns.confirm(message)
            return replace(alert, answered=f"SNS subscription to {str(message.get('TopicArn'))[:300]} confirmed")
        if message.get("Type") == "UnsubscribeConfirmation":
            return replace(alert, answered="SNS unsubscribe confirmation received; nothing written")
    check_json_object(alert.body, max_alerts)
    return alert


#: A route parameter that receives an admitted alert (or batch), after every check above passed.
AdmittedAlert = Annotated[Admitted, Depends(admitted_alert)]


def batch_alerts(lines: list[tuple[int, bytes]]) -> int:
    """The alerts an NDJSON batch's lines carry in all (``alerts_in`` each; a line that is not JSON carries none:
    it is answered 400 on its own)."""
    total = 0
    for _, line in lines:
        try:
            total += alerts_in(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return total


def batch_lines(request: Request, body: bytes, max_lines: int) -> list[tuple[int, bytes]]:
    """An NDJSON batch's lines, or ``Rejected`` for the batch as a whole: a binary-mode CloudEvent (one event), no
    lines, or too many lines."""
    if is_binary_cloudevent(request.headers):
        raise Rejected(400, "a CloudEvent in binary mode is one event: send an NDJSON batch in structured mode")
    lines = split_lines(body)
    if not lines:
        raise Rejected(400, "the NDJSON body has no lines")
    if len(lines) > max_lines:
        raise Rejected(413, f"{len(lines)} lines is more than the {max_lines}-line limit")
    return lines
