"""``python -m services.ingest``: run the ingest consumer with its health endpoint.

Exits 0 on SIGTERM/SIGINT; exits 1 when its consumer dies (its consume task ended, or it stays out of its
consumer group), after ``/healthz`` turned 503, so a supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import logging

from faststream import FastStream
from faststream.kafka import KafkaBroker

from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from services.shared import logs, tracing
from services.shared.consumer_health import consumer_vitals
from services.shared.consumer_lag import CONSUMER_LAG
from services.shared.consuming import tune_collector
from services.shared.health import HealthServer
from services.shared.watchdog import Watchdog, exit_dead, stop_on_signals, until_stopped_or_dead

log = logging.getLogger("services.ingest")
#: How long the health probe waits for the broker to answer.
PROBE_TIMEOUT_S = 3.0


async def main(settings: IngestSettings) -> None:
    """Build the app and run it until SIGTERM/SIGINT (or until its consumer dies)."""
    app, broker = build_app(settings)
    await run(app, broker, settings, stop_on_signals())


async def run(app: FastStream, broker: KafkaBroker, settings: IngestSettings, stop: asyncio.Event) -> None:
    """Serve ``/healthz`` (healthy while Kafka answers and the consumer lives) and consume until ``stop`` is
    set; if the consumer dies first, shut down and exit 1."""

    async def broker_connected() -> bool:
        return await broker.ping(timeout=PROBE_TIMEOUT_S)

    watchdog = Watchdog(consumer_vitals(broker))
    health = HealthServer(settings.health_host, settings.health_port, watchdog.guard(broker_connected))
    await app.start()
    tune_collector()  # everything made at start lives as long as the process: no collection need scan it
    CONSUMER_LAG.watch(broker)
    await health.start()
    log.info("ingest consuming %s as group %s", settings.topics.raw, settings.group_id)
    try:
        death = await until_stopped_or_dead(stop, watchdog)
    finally:
        # The health endpoint goes last: until the process ends it answers 503 for a dead part.
        await app.stop()
        await health.stop()
        CONSUMER_LAG.unwatch(broker)
        log.info("ingest stopped")
    if death is not None:
        exit_dead("ingest", death)


if __name__ == "__main__":
    config = IngestSettings()
    logs.configure("ingest", config.log_level)
    tracing.setup("alertmesh-ingest")
    asyncio.run(main(config))
