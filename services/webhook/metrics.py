"""The webhook's request counter, ``alertmesh_webhook_requests_total{source,code}``, as a pure ASGI middleware:
it sees every answer to ``POST /v1/alerts/{source}`` and to the Alertmanager API's ``POST /api/v2/alerts``
(counted under the API's source, ``WEBHOOK_ALERTMANAGER_SOURCE``), including those a guard or FastAPI itself
gave. Refusals before authentication (400, 401, 408, 413, 499) are counted here only: they get no span
(``alert_span``). The metrics are served on their own port (``WEBHOOK_METRICS_PORT``, ``__main__``), never on the
public one.

The ``source`` label is the path's source only when it can be a real one: with a credentials file, a source the
file names (anything else, e.g. a scanner probing paths, is ``unknown``); without one, a well-formed name, bounded
(``services.shared.metrics.BoundedLabel``). So refused garbage cannot create series.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.sources import SOURCE_PATTERN
from services.shared import metrics
from services.webhook.auth import WebhookAuth

ALERTS_PATH = "/v1/alerts/"
#: Where Prometheus posts alerts (the Alertmanager API, ``services.webhook.alertmanager``).
API_ALERTS_PATH = "/api/v2/alerts"


def source_label(auth: WebhookAuth, source: str) -> str:
    """The label for a request to ``source`` (see the module's docstring)."""
    if not SOURCE_PATTERN.fullmatch(source):
        return metrics.UNKNOWN
    if not auth.enabled:
        return metrics.source_label(source)
    return source if auth.knows(source) else metrics.UNKNOWN


class CountRequests:
    """Counts each answered request that posts alerts by source label and status code."""

    def __init__(self, app: ASGIApp, auth: WebhookAuth, api_source: str) -> None:
        self._app, self._auth, self._api_source = app, auth, api_source

    def _source(self, scope: Scope) -> str | None:
        """The source a request posting alerts is for, or None when it posts none."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(ALERTS_PATH):
            return str(path.removeprefix(ALERTS_PATH))
        if path == API_ALERTS_PATH and scope.get("method") == "POST":
            return self._api_source
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI call: the app answers, and a request posting alerts is counted once it has (500 when the app
        raised before it started answering)."""
        source = self._source(scope)
        if source is None:
            await self._app(scope, receive, send)
            return
        status = 500  # what the server answers if the app raises before starting a response

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, sending)
        finally:
            label = source_label(self._auth, source)
            metrics.WEBHOOK_REQUESTS.labels(label, str(status)).inc()
