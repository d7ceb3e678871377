"""``python -m services.webhook``: serve the webhook bridge with uvicorn on ``WEBHOOK_HOST:WEBHOOK_PORT``, and its
metrics (``/metrics``, and ``/healthz`` again) on ``WEBHOOK_METRICS_HOST:WEBHOOK_METRICS_PORT``, until SIGTERM or
SIGINT (exit 0); exit 1 with a clear message when the settings or the credentials file are not usable, or the
metrics port is taken.

The metrics are on a port of their own so the public alert port serves senders only: Prometheus, supervisors and
``alertmesh status`` reach the metrics port, which need not be exposed."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from pydantic import ValidationError

from services.shared import logs, tracing
from services.shared.health import HealthServer
from services.webhook.app import create_app
from services.webhook.config import WebhookSettings
from services.webhook.credentials import CredentialsFileError


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
        app = create_app(settings)
    except CredentialsFileError as error:
        raise SystemExit(f"webhook: cannot start: {error}") from None
    broker = app.state.bridge.broker
    metrics_server = HealthServer(settings.metrics_host, settings.metrics_port, lambda: broker.ping(timeout=3.0))
    # log_config=None keeps the alertmesh log format instead of uvicorn's own.
    server = _Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None), metrics_server)
    try:
        server.run()
    except OSError as error:
        raise SystemExit(f"webhook: cannot start: metrics port {settings.metrics_port}: {error}") from None


class _Server(uvicorn.Server):
    """uvicorn's server, with the metrics endpoint served beside it, except that a stop signal ends it with status 0.

    uvicorn (0.29 and later) raises the signal it caught once more after its graceful shutdown, so a clean SIGTERM
    ended the process with -15 and a supervisor could not tell a requested stop from a crash. Here SIGTERM and
    SIGINT only ask the server to exit (uvicorn's own ``handle_exit``: a second Ctrl-C still forces it), and
    ``main`` then returns normally."""

    def __init__(self, config: uvicorn.Config, metrics_server: HealthServer) -> None:
        super().__init__(config)
        self._metrics = metrics_server

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve the metrics endpoint for as long as the bridge itself."""
        await self._metrics.start()
        try:
            await super().serve(sockets)
        finally:
            await self._metrics.stop()

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


if __name__ == "__main__":
    main()
