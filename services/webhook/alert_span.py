"""The span of one authenticated alert POST: the root of the alert's trace, or the continuation of the sender's
``traceparent``; the raw record carries its context (``tracing.span_headers``).

It is opened only once the request is authenticated (``admission.authenticated_span``): a stranger's request
writes nothing into the bounded local span store and cannot join a trace by naming its id. Refusals before that
are logged by the app's handler (``answers``) and counted (``metrics``), not traced.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request
from fastapi.responses import Response
from opentelemetry.trace import Span, SpanKind

from services.shared import tracing
from services.webhook.answers import log_refusal, refused
from services.webhook.body import Rejected

log = logging.getLogger("services.webhook")
#: The one route alerts arrive on (the span's name and ``http.route``).
ROUTE = "/v1/alerts/{source}"


@asynccontextmanager
async def opened(source: str, request: Request, route: str = ROUTE) -> AsyncIterator[Span]:
    """The alert's span (a server span continuing the request's ``traceparent``) while the rest of the request
    is handled: a refusal raised inside is recorded on it and logged inside it, like any other answer. ``route``:
    the route alerts came in on (the Alertmanager API's ``POST /api/v2/alerts`` opens one too)."""
    attributes = {"http.request.method": "POST", "http.route": route, "alertmesh.source": source[:200]}
    rejection: Rejected | None = None
    with tracing.handling(f"POST {route}", request.headers, attributes, kind=SpanKind.SERVER) as span:
        try:
            yield span
        except Rejected as rejected:
            log_refusal(request, rejected)
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
