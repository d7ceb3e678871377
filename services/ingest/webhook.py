"""Webhook bridge: ``POST /v1/alerts/{source}`` writes the body, unchanged, to the raw topic.

It answers 202 only once Kafka acknowledged the write (acks=all), so an accepted alert is durable; otherwise
503 and the sender retries. A retry after a timed-out write may duplicate the raw message: ingest derives
every id and key from the alert, so the duplicate starts nothing new. Run: ``python -m services.ingest.webhook``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Request, params
from fastapi.responses import JSONResponse

from services.ingest.config import WebhookSettings
from services.ingest.parsers import SOURCE_HEADER
from services.ingest.webhook_body import (
    Rejected,
    check_json_object,
    check_source,
    json_content_type,
    read_limited,
)
from services.shared import logs

log = logging.getLogger("services.ingest.webhook")
CLIENT_ID = "alertmesh-webhook"
#: How long ``/healthz`` waits for the broker to answer.
PROBE_TIMEOUT_S = 3.0


def build_webhook(settings: WebhookSettings, guards: Sequence[params.Depends] = ()) -> FastAPI:
    """The bridge app. ``guards`` are FastAPI dependencies run before each POST: the seam for auth and
    rate limits (raise ``HTTPException`` to refuse)."""
    broker = settings.kafka.broker(client_id=CLIENT_ID)
    raw_topic = broker.publisher(settings.topics.raw)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()

    app = FastAPI(title="alertmesh webhook bridge", lifespan=lifespan)
    app.state.broker = broker

    @app.post("/v1/alerts/{source}", status_code=202, dependencies=list(guards))
    async def accept_alert(source: str, request: Request) -> JSONResponse:
        try:
            check_source(source)
            content_type = json_content_type(request)
            body = await read_limited(request, settings.max_body_bytes)
            check_json_object(body)
        except Rejected as rejected:
            log.info("rejected POST for source %r: %s", source, rejected.reason)
            return JSONResponse({"status": "rejected", "reason": rejected.reason}, status_code=rejected.status)
        headers = {SOURCE_HEADER: source, "content-type": content_type}
        try:
            metadata = await asyncio.wait_for(
                raw_topic.publish(body, key=source.encode(), headers=headers), settings.publish_timeout_s
            )
        except TimeoutError:
            reason = f"Kafka did not acknowledge the write within {settings.publish_timeout_s}s"
            return _unavailable(source, reason)
        except Exception as error:  # any producer failure means "not accepted": the sender must retry
            return _unavailable(source, f"Kafka write failed: {error!r}")
        accepted: dict[str, object] = {"status": "accepted", "topic": settings.topics.raw}
        if metadata is not None:  # the in-memory test broker acknowledges without metadata
            accepted.update(topic=metadata.topic, partition=metadata.partition, offset=metadata.offset)
        return JSONResponse(accepted, status_code=202)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        connected = await broker.ping(timeout=PROBE_TIMEOUT_S)
        return JSONResponse({"status": "ok" if connected else "kafka unreachable"}, 200 if connected else 503)

    return app


def _unavailable(source: str, reason: str) -> JSONResponse:
    log.warning("could not accept alert from %r: %s", source, reason)
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


def main() -> None:
    """Serve the bridge with uvicorn on ``WEBHOOK_HOST:WEBHOOK_PORT``."""
    settings = WebhookSettings()
    logs.configure("webhook", settings.log_level)
    # log_config=None keeps the alertmesh log format instead of uvicorn's own.
    uvicorn.run(build_webhook(settings), host=settings.host, port=settings.port, log_config=None)


if __name__ == "__main__":
    main()
