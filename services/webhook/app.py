"""Webhook bridge: ``POST /v1/alerts/{source}`` writes the body, unchanged, to the raw topic.

Each source authenticates with an API key or a body signature (``webhook_auth``): 401 when missing or wrong,
404 for a source the credentials file does not know; nothing is written then. It answers 202 only once Kafka
acknowledged the write (acks=all), so an accepted alert is durable; otherwise 503 with ``Retry-After``. A retry
after a timed-out write may duplicate the raw message: ingest derives every id and key from the alert, so the
duplicate starts nothing new. An NDJSON body (``application/x-ndjson``) is a batch: each line is written as its own
record and answered on its own (``webhook_ndjson``). A CloudEvent in HTTP binary mode keeps its ``ce-*`` headers
as Kafka ``ce_*`` headers (``webhook_headers``). Run: ``python -m services.webhook``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, params
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from services.shared import logs, metrics, tracing
from services.shared.kafka import ProducerPublisher
from services.webhook.auth import WebhookAuth
from services.webhook.body import (
    Rejected,
    check_json_object,
    check_source,
    json_content_type,
    read_limited,
)
from services.webhook.config import WebhookSettings
from services.webhook.credentials import CredentialsFileError, load_credentials
from services.webhook.headers import is_binary_cloudevent, raw_record_headers
from services.webhook.metrics import CountRequests
from services.webhook.ndjson import is_ndjson, publish_lines, split_lines

log = logging.getLogger("services.webhook")
#: The one route alerts arrive on (the span's name and ``http.route``).
ROUTE = "/v1/alerts/{source}"
#: FastAPI's native OpenTelemetry settings (FastAPI 0.162 and later, as pyproject.toml requires): the request span
#: of each alert POST, none for probes and scrapes (a span every few seconds from each prober would crowd out the
#: alerts' spans in the bounded local store), and none for its dependency and serialization steps.
# Typed loosely: FastAPI takes a mapping here as well as its ``TelemetryConfig``.
TELEMETRY: Any = {"operation_spans": False, "exclude": lambda scope: scope.get("path") in ("/healthz", "/metrics")}
CLIENT_ID = "alertmesh-webhook"
#: How long ``/healthz`` waits for the broker to answer.
PROBE_TIMEOUT_S = 3.0


def build_auth(settings: WebhookSettings) -> WebhookAuth:
    """Load and validate the credentials file (``CredentialsFileError`` names the file and entry), or, only when
    explicitly allowed, run without authentication, loudly."""
    if settings.credentials_file is None:
        log.warning(
            "AUTHENTICATION IS OFF (WEBHOOK_ALLOW_UNAUTHENTICATED=true): anyone who can reach %s:%d can write "
            "alerts that start workflows. Set WEBHOOK_CREDENTIALS_FILE for anything but a closed test setup.",
            settings.host, settings.port,
        )  # fmt: skip
        return WebhookAuth(None)
    credentials = load_credentials(settings.credentials_file)
    if settings.allow_unauthenticated:
        log.warning("WEBHOOK_ALLOW_UNAUTHENTICATED is ignored: the credentials file is used")
    log.info("webhook authentication: %d sources from %s", len(credentials), settings.credentials_file)
    return WebhookAuth(credentials, max_skew_s=settings.signature_max_age_s)


def build_webhook(
    settings: WebhookSettings, guards: Sequence[params.Depends] = (), auth: WebhookAuth | None = None
) -> FastAPI:
    """The bridge app. ``auth`` defaults to the one ``settings`` configure. ``guards`` are FastAPI dependencies
    run before each POST: the seam for rate limits and the like (raise ``HTTPException`` to refuse)."""
    auth = auth if auth is not None else build_auth(settings)
    broker = settings.kafka.broker(client_id=CLIENT_ID)
    raw_topic = broker.publisher(settings.topics.raw)
    # NDJSON lines go straight to the producer, queued in order from one task (see webhook_ndjson).
    raw_lines = ProducerPublisher(broker, settings.topics.raw)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()

    app = FastAPI(title="alertmesh webhook bridge", lifespan=lifespan, telemetry=TELEMETRY)
    app.state.broker = broker
    app.add_middleware(CountRequests, auth=auth)

    async def admitted_body(source: str, request: Request) -> bytes:
        """The body of a request that may be written: known source, valid credentials, JSON within limits."""
        check_source(source)
        credentials = auth.credentials_for(source)
        # An API key is checked before the body is read; a signature needs the body, read within the limit.
        key_ok = credentials is None or auth.check_without_body(credentials, request.headers)
        body = await read_limited(request, settings.max_body_bytes)
        if credentials is not None and not key_ok:
            auth.check_signature(credentials, request.headers, body)
        if is_ndjson(request.headers.get("content-type", "")):
            check_batch(request, body)  # each line is checked on its own, and answered on its own
            return body
        json_content_type(request)
        check_json_object(body)
        return body

    def check_batch(request: Request, body: bytes) -> None:
        if is_binary_cloudevent(request.headers):
            raise Rejected(400, "a CloudEvent in binary mode is one event: send an NDJSON batch in structured mode")
        lines = len(split_lines(body))
        if not lines:
            raise Rejected(400, "the NDJSON body has no lines")
        if lines > settings.ndjson_max_lines:
            raise Rejected(413, f"{lines} lines is more than the {settings.ndjson_max_lines}-line limit")

    async def accept_lines(source: str, body: bytes, headers: dict[str, str]) -> JSONResponse:
        """207-style answer: each line's own status; 202 when every line was written."""
        results = await publish_lines(
            raw_lines, split_lines(body), source.encode(), headers, settings.publish_timeout_s
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

    @app.post(ROUTE, status_code=202, dependencies=list(guards))
    async def accept_alert(source: str, request: Request) -> JSONResponse:
        # The alert's trace starts here (or continues the sender's ``traceparent``); the raw record carries it.
        # FastAPI's own request span (its native telemetry, when it has it) is the parent; without one, the span
        # is the server span itself and continues the request's ``traceparent``.
        served = trace.get_current_span().get_span_context().is_valid
        attributes = {"http.request.method": "POST", "http.route": ROUTE, "alertmesh.source": source[:200]}
        name, kind = ("accept alert", SpanKind.INTERNAL) if served else (f"POST {ROUTE}", SpanKind.SERVER)
        with tracing.handling(name, None if served else request.headers, attributes, kind=kind) as span:
            answer = await write_alert(source, request, tracing.span_headers(span))
            span.set_attribute("http.response.status_code", answer.status_code)
            if answer.status_code >= 400:
                tracing.failed(span, f"answered {answer.status_code}: {bytes(answer.body).decode('utf-8', 'replace')}")
            return answer

    async def write_alert(source: str, request: Request, trace: dict[str, str]) -> JSONResponse:
        try:
            body = await admitted_body(source, request)
        except Rejected as rejected:
            client = request.client.host if request.client else "?"
            log.info("refused POST for source %r from %s: %s %s", source, client, rejected.status, rejected.reason)
            return _answer("rejected", rejected)
        headers = raw_record_headers(source, request.headers["content-type"], request.headers) | trace
        if is_ndjson(headers["content-type"]):
            return await accept_lines(source, body, headers)
        try:
            metadata = await asyncio.wait_for(
                raw_topic.publish(body, key=source.encode(), headers=headers), settings.publish_timeout_s
            )
        except TimeoutError:
            reason = f"Kafka did not acknowledge the write within {settings.publish_timeout_s}s"
            return _unavailable(source, reason, settings.retry_after_s)
        except Exception as error:  # any producer failure means "not accepted": the sender must retry
            return _unavailable(source, f"Kafka write failed: {error!r}", settings.retry_after_s)
        accepted: dict[str, object] = {"status": "accepted", "topic": settings.topics.raw}
        if metadata is not None:  # the in-memory test broker acknowledges without metadata
            accepted.update(topic=metadata.topic, partition=metadata.partition, offset=metadata.offset)
        return JSONResponse(accepted, status_code=202)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        connected = await broker.ping(timeout=PROBE_TIMEOUT_S)
        return JSONResponse({"status": "ok" if connected else "kafka unreachable"}, 200 if connected else 503)

    @app.get("/metrics")
    async def metrics_page() -> Response:
        return Response(await metrics.render(), media_type=metrics.CONTENT_TYPE)

    return app


def _answer(status: str, rejected: Rejected) -> JSONResponse:
    return JSONResponse({"status": status, "reason": rejected.reason}, rejected.status, headers=rejected.headers)


def _unavailable(source: str, reason: str, retry_after_s: int) -> JSONResponse:
    log.warning("could not accept alert from %r: %s", source, reason)
    return _answer("unavailable", Rejected(503, reason, {"Retry-After": str(retry_after_s)}))


def main() -> None:
    """Serve the bridge with uvicorn on ``WEBHOOK_HOST:WEBHOOK_PORT``; exit with a clear message when the
    settings or the credentials file are not usable (exit status 1)."""
    try:
        settings = WebhookSettings()
    except ValidationError as error:
        raise SystemExit(f"webhook: cannot start: {_first_problem(error)}") from None
    logs.configure("webhook", settings.log_level)
    tracing.setup("alertmesh-webhook")
    try:
        app = build_webhook(settings)
    except CredentialsFileError as error:
        raise SystemExit(f"webhook: cannot start: {error}") from None
    # log_config=None keeps the alertmesh log format instead of uvicorn's own.
    _Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None)).run()


class _Server(uvicorn.Server):
    """uvicorn's server, except that a stop signal ends it with status 0.

    uvicorn (0.29 and later) raises the signal it caught once more after its graceful shutdown, so a clean SIGTERM
    ended the process with -15 and a supervisor could not tell a requested stop from a crash. Here SIGTERM and
    SIGINT only ask the server to exit (uvicorn's own ``handle_exit``: a second Ctrl-C still forces it), and
    ``main`` then returns normally."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        stop_signals = (signal.SIGTERM, signal.SIGINT)
        for signum in stop_signals:
            loop.add_signal_handler(signum, self.handle_exit, signum, None)
        try:
            yield
        finally:
            for signum in stop_signals:
                loop.remove_signal_handler(signum)


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else str(problem["msg"]).removeprefix("Value error, ")
