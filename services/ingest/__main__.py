"""``python -m services.ingest``: run the ingest consumer with its health endpoint."""

from __future__ import annotations

import asyncio
import logging

from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from services.shared import logs
from services.shared.health import HealthServer

#: How long the health probe waits for the broker to answer.
PROBE_TIMEOUT_S = 3.0


async def main(settings: IngestSettings) -> None:
    """Build the app, serve ``/healthz`` (healthy while Kafka answers) and consume until stopped."""
    app, broker = build_app(settings)

    async def broker_connected() -> bool:
        return await broker.ping(timeout=PROBE_TIMEOUT_S)

    health = HealthServer(settings.health_host, settings.health_port, broker_connected)
    app.after_startup(health.start)
    app.on_shutdown(health.stop)
    await app.run(log_level=logging.getLevelName(settings.log_level.upper()))


if __name__ == "__main__":
    config = IngestSettings()
    logs.configure("ingest", config.log_level)
    asyncio.run(main(config))
