"""The span of one alert POST: the root of the alert's trace, or the continuation of the sender's
``traceparent``; the raw record carries its context (``tracing.span_headers``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from services.shared import tracing
from services.webhook.answers import refused
from services.webhook.body import Rejected

log = logging.getLogger("services.webhook")
#: The one route alerts arrive on (the span's name and ``http.route``).
ROUTE = "/v1/alerts/{source}"


async def alert_span(source: str, request: Request) -> AsyncIterator[Span]:
    """FastAPI dependency (function scope: it ends before the answer is sent) that opens the alert's span before
    any admission check runs, so a refusal is recorded on it (and logged inside it) like any other answer.

    FastAPI's own request span (its native telemetry, when it has it) is the parent; without one, the span is the
    server span itself and continues the request's ``traceparent``."""
    served = trace.get_current_span().get_span_context().is_valid
    attributes = {"http.request.method": "POST", "http.route": ROUTE, "alertmesh.source": source[:200]}
    name, kind = ("accept alert", SpanKind.INTERNAL) if served else (f"POST {ROUTE}", SpanKind.SERVER)
    rejection: Rejected | None = None
    with tracing.handling(name, None if served else request.headers, attributes, kind=kind) as span:
        try:
            yield span
        except Rejected as rejected:
            client = request.client.host if request.client else "?"
            log.info("refused POST for source %r from %s: %s %s", source, client, rejected.status, rejected.reason)
            record_answer(span, refused(rejected))
            rejection = rejected
    if rejection is not None:
        # Raised again only after the span ended: a refusal is an answer, not an exception on the span; the
        # app's handler for Rejected turns it into the response.
        raise rejection


def record_answer(span: Span, answer: Response) -> None:
    """Put the answer's status on the span, and mark the span failed with the answer's body for a 4xx or 5xx."""
    span.set_attribute("http.response.status_code", answer.status_code)
    if answer.status_code >= 400:
        tracing.failed(span, f"answered {answer.status_code}: {bytes(answer.body).decode('utf-8', 'replace')}")


#: A parameter that receives the alert's span (opening it, before the checks that depend on it, on first use).
AlertSpan = Annotated[Span, Depends(alert_span, scope="function")]
