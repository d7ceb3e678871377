"""The bridge's routes: ``alerts`` (``POST /v1/alerts/{source}``, behind the admission dependencies) and
``probes`` (``/healthz``; ``/metrics`` is on the metrics port, see ``__main__``).

An admitted body is written unchanged to the raw topic, without a key, with the headers ``headers`` derives
(CloudEvents binary mode kept, the source in ``alertmesh-source``) and the alert span's trace context. Unkeyed, the
producer's partitioner spreads the records of even one busy sender over every partition (and every ingest
consumer); ingest's first stage re-keys each alert by its noise-state key after parsing, so no order or state
needs the raw record's partition. 202 only once Kafka acknowledged the write
(acks=all), so an accepted alert is durable; 413 for a record Kafka can never accept for its size (``oversize``);
otherwise 503 with ``Retry-After``. An NDJSON batch is written a line a record and answered a line at a time
(``ndjson``).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.shared import tracing
from services.webhook.admission import AdmittedAlert, AlertSpan
from services.webhook.alert_span import ROUTE, record_answer
from services.webhook.answers import refused, unavailable
from services.webhook.body import Rejected
from services.webhook.bridge import Bridge, bridge_of
from services.webhook.headers import raw_record_headers
from services.webhook.ndjson import publish_lines
from services.webhook.oversize import oversize, refused_by_size

log = logging.getLogger("services.webhook")
#: How long ``/healthz`` waits for the broker to answer.
PROBE_TIMEOUT_S = 3.0

alerts = APIRouter()
probes = APIRouter()


@alerts.post(ROUTE, status_code=202)
async def accept_alert(alert: AdmittedAlert, span: AlertSpan, request: Request) -> JSONResponse:
    """Write an admitted alert (or NDJSON batch) to the raw topic; the raw record carries the span's context."""
    bridge, source = bridge_of(request), alert.source
    if alert.answered is not None:  # an SNS subscription message: nothing to write
        confirmed = JSONResponse({"status": "ok", "reason": alert.answered}, 200)
        record_answer(span, confirmed)
        return confirmed
    headers = raw_record_headers(source, request.headers["content-type"], request.headers)
    headers |= tracing.span_headers(span)
    if alert.lines is not None:
        answer = await accept_lines(bridge, source, alert.lines, headers)
    else:
        answer = await write_alert(bridge, source, alert.body, headers)
    record_answer(span, answer)
    return answer


async def write_alert(bridge: Bridge, source: str, body: bytes, headers: dict[str, str]) -> JSONResponse:
    """202 with where the record landed once Kafka acknowledged it; 413 when Kafka can never accept it for its
    size; 503 when it did not acknowledge it in time or failed otherwise."""
    settings = bridge.settings
    too_large = oversize(None, body, headers, settings.kafka.max_message_bytes)
    if too_large is not None:
        return too_large_answer(source, too_large)
    try:
        publishing = bridge.raw.publish(body, key=None, headers=headers)
        metadata = await asyncio.wait_for(publishing, settings.publish_timeout_s)
    except TimeoutError:
        reason = f"Kafka did not acknowledge the write within {settings.publish_timeout_s}s"
        return unavailable(source, reason, settings.retry_after_s)
    except Exception as error:  # any other producer failure means "not accepted": the sender must retry
        too_large = refused_by_size(error)
        if too_large is not None:
            return too_large_answer(source, too_large)
        return unavailable(source, f"Kafka write failed: {error!r}", settings.retry_after_s)
    accepted: dict[str, object] = {"status": "accepted", "topic": settings.topics.raw}
    if metadata is not None:  # the in-memory test broker acknowledges without metadata
        accepted.update(topic=metadata.topic, partition=metadata.partition, offset=metadata.offset)
    return JSONResponse(accepted, status_code=202)


def too_large_answer(source: str, reason: str) -> JSONResponse:
    """413: a record Kafka can never take; retrying cannot help, so no ``Retry-After``."""
    log.info("refused alert from %r: %s", source, reason)
    return refused(Rejected(413, reason))


async def accept_lines(
    bridge: Bridge, source: str, lines: list[tuple[int, bytes]], headers: dict[str, str]
) -> JSONResponse:
    """207-style answer: each line's own status; 202 when every line was written."""
    settings = bridge.settings
    results = await publish_lines(
        bridge.raw, lines, None, headers, settings.publish_timeout_s, settings.kafka.max_message_bytes
    )
    accepted = sum(result.status == 202 for result in results)
    if accepted < len(results):
        log.info("NDJSON batch from %r: %d of %d lines written", source, accepted, len(results))
    status = 202 if accepted == len(results) else 207
    answer = {
        "status": "accepted" if status == 202 else "partial",
        "topic": settings.topics.raw,
        "accepted": accepted,
        "rejected": len(results) - accepted,
        "lines": [result.as_json() for result in results],
    }
    retry = any(result.status == 503 for result in results)
    return JSONResponse(answer, status, headers={"Retry-After": str(settings.retry_after_s)} if retry else None)


@probes.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """200 while the broker answers within ``PROBE_TIMEOUT_S``, else 503."""
    connected = await bridge_of(request).broker.ping(timeout=PROBE_TIMEOUT_S)
    return JSONResponse({"status": "ok" if connected else "kafka unreachable"}, 200 if connected else 503)
