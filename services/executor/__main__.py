"""``python -m services.executor``: start Ray, then a Temporal worker running actions until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

import ray

from services.executor.config import ExecutorSettings
from services.executor.health import health_probe, ray_vital
from services.executor.worker import build_worker
from services.shared import logs
from services.shared.health import HealthServer
from services.shared.watchdog import (
    Vital,
    Watchdog,
    exit_dead,
    run_process,
    stop_on_signals,
    task_alive,
    until_stopped_or_dead,
)

log = logging.getLogger("services.executor")
RAY_SHUTDOWN_TIMEOUT_S = 15.0


def start_ray(settings: ExecutorSettings) -> None:
    """Join the Ray cluster at RAY_ADDRESS, or start a local one (usage stats off: no internet here)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        address=settings.ray_address or None,
        num_cpus=None if settings.ray_address else settings.ray_num_cpus,
        include_dashboard=False,
        log_to_driver=settings.ray_log_to_driver,
    )


async def serve(settings: ExecutorSettings) -> None:
    """Run the worker and health endpoint until a stop signal (then stop the worker; Ray is the caller's), or
    until the worker or the Ray cluster dies (then exit 1 so a supervisor restarts the executor)."""
    client = await settings.temporal.connect()
    worker = build_worker(client, settings)
    stop = stop_on_signals()
    run = asyncio.create_task(worker.run(), name="temporal-activity-worker")
    watchdog = Watchdog([Vital("Temporal activity worker", task_alive(lambda: run)), ray_vital()])
    health = HealthServer(settings.health_host, settings.health_port, watchdog.guard(health_probe(client)))
    await health.start()
    log.info("executor polling %r on %s", settings.temporal.action_task_queue, settings.temporal.address)
    try:
        death = await until_stopped_or_dead(stop, watchdog)
    finally:
        if not run.done():
            await worker.shutdown()
        try:
            await run
        except Exception:  # a worker that died: the watchdog reported it
            log.exception("the activity worker had failed")
        # The health endpoint goes last: until the process ends it answers 503 for a dead part.
        await health.stop()
        log.info("executor stopped")
    if death is not None:
        exit_dead("executor", death)


def main() -> None:
    settings = ExecutorSettings()
    logs.configure("executor", settings.log_level)
    start_ray(settings)
    try:
        asyncio.run(serve(settings))
    finally:
        shutdown_ray()


def shutdown_ray(timeout_s: float = RAY_SHUTDOWN_TIMEOUT_S) -> None:
    """``ray.shutdown()`` (it also stops a local Ray's processes), bounded: with a dead GCS it can hang, and a
    process that never exits is exactly what the watchdog is there to prevent."""
    stopping = threading.Thread(target=ray.shutdown, name="ray-shutdown", daemon=True)
    started = time.monotonic()
    stopping.start()
    stopping.join(timeout_s)
    if stopping.is_alive():
        log.error("Ray did not shut down within %.0fs; exiting without it", timeout_s)
        logging.shutdown()
        os._exit(1)
    log.info("Ray shut down in %.1fs", time.monotonic() - started)


if __name__ == "__main__":
    run_process(main)
