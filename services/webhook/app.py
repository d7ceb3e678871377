"""Webhook bridge: ``POST /v1/alerts/{source}`` writes the body, unchanged, to the raw topic.

Each source authenticates with an API key or a body signature (``auth``): one and the same 401 when missing or
wrong and for a source the credentials file does not know; nothing is written then. The credentials file is
reloaded when it changes (``reload``). It answers 202 only once Kafka acknowledged
the write (acks=all), so an accepted alert is durable; otherwise 503 with ``Retry-After``. A retry after a
timed-out write may duplicate the raw message: ingest derives every id and key from the alert, so the duplicate
starts nothing new. An NDJSON body (``application/x-ndjson``) is a batch: each line is written as its own record
and answered on its own (``ndjson``). A CloudEvent in HTTP binary mode keeps its ``ce-*`` headers as Kafka
``ce_*`` headers (``headers``). Run: ``python -m services.webhook``.

The Alertmanager API v2 (``alertmanager``: ``/api/v2/...``, ``/-/healthy``, ``/-/ready``) is served on the same
port unless ``WEBHOOK_ALERTMANAGER_API=false``: Prometheus posts alerts to it and amtool manages silences with it.

How it is put together: ``create_app`` wires a ``Bridge`` (``bridge``) into the app's state; the routes
(``routes``) take it, the alert's span (``alert_span``) and the admitted body (``admission``) as dependencies.
The API's tables (``alertmanager.ApiStores``) are in ``app.state.alertmanager``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, params

from services.webhook.alertmanager import ApiStores, alerts_api, api_probes, silences_api, status_api
from services.webhook.answers import answer_rejected
from services.webhook.auth import WebhookAuth
from services.webhook.body import Rejected
from services.webhook.bridge import CLIENT_ID, Bridge
from services.webhook.config import WebhookSettings
from services.webhook.metrics import CountRequests
from services.webhook.routes import alerts, probes

__all__ = ["CLIENT_ID", "TELEMETRY", "create_app"]
log = logging.getLogger("services.webhook")

#: FastAPI's native OpenTelemetry settings (FastAPI 0.162 and later, as pyproject.toml requires): no request spans.
#: FastAPI's span would start before authentication, continuing whatever ``traceparent`` a stranger sends and
#: writing a span per refused request into the bounded local store (evicting real alerts' traces); the alert's own
#: span (``alert_span``) starts only once the request is authenticated. Probes and scrapes get no span either.
# Typed loosely: FastAPI takes a mapping here as well as its ``TelemetryConfig``.
TELEMETRY: Any = {"tracing": False, "operation_spans": False}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The broker is connected, and the credentials file followed, while the app serves."""
    bridge: Bridge = app.state.bridge
    stores: ApiStores | None = app.state.alertmanager
    await bridge.broker.start()
    if bridge.reloader is not None:
        bridge.reloader.start(bridge.settings.credentials_reload_s)
    if stores is not None:
        stores.start()
    try:
        yield
    finally:
        if stores is not None:
            await stores.stop()
        if bridge.reloader is not None:
            await bridge.reloader.stop()
        await bridge.broker.stop()


def create_app(
    settings: WebhookSettings,
    guards: Sequence[params.Depends] = (),
    auth: WebhookAuth | None = None,
    stores: ApiStores | None = None,
) -> FastAPI:
    """The bridge app. ``auth`` defaults to the one ``settings`` configure (loading the credentials file:
    ``CredentialsFileError`` if it is not usable). ``guards`` are FastAPI dependencies run before each POST,
    before any admission check: the seam for rate limits and the like (raise ``HTTPException`` to refuse).
    ``app.state.bridge.broker`` is the broker the app connects in its lifespan. ``/metrics`` is not served
    here but on the metrics port (``__main__``). ``stores``: the Alertmanager API's tables (default: the Kafka
    tables ``settings`` name, started in the lifespan; none when ``settings.alertmanager_api`` is off)."""
    bridge = Bridge.build(settings, auth)
    # The API's description only when asked for (WEBHOOK_API_DOCS): the public port tells strangers nothing.
    docs: dict[str, Any] = {} if settings.api_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title="alertmesh webhook bridge", lifespan=lifespan, telemetry=TELEMETRY, **docs)
    app.state.bridge = bridge
    app.add_middleware(CountRequests, auth=bridge.auth, api_source=settings.alertmanager_source)
    app.add_exception_handler(Rejected, answer_rejected)
    app.include_router(alerts, dependencies=list(guards))
    app.include_router(probes)
    app.state.alertmanager = None
    if settings.alertmanager_api:
        if bridge.auth.enabled and not bridge.auth.knows(settings.alertmanager_source):
            log.warning(
                "the Alertmanager API's source %r (WEBHOOK_ALERTMANAGER_SOURCE) has no entry in the credentials "
                "file: only Basic-auth users named after a source with keys can use /api/v2",
                settings.alertmanager_source,
            )  # fmt: skip
        app.state.alertmanager = stores if stores is not None else ApiStores.from_settings(settings)
        app.include_router(alerts_api, dependencies=list(guards))
        app.include_router(silences_api)
        app.include_router(status_api)
        app.include_router(api_probes)
    return app
