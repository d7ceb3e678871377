"""``python -m services.executor``: start Ray, then a Temporal worker running actions until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import threading
import time
from typing import Any

import ray
from ray._private import ray_constants

from services.executor.actions import load_plugins
from services.executor.config import ExecutorSettings
from services.executor.health import health_probe, ray_vital
from services.executor.outcome import ACTION_MODULES_ENV, import_action_modules
from services.executor.worker import build_worker
from services.shared import logs, tracing
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


def _on_loopback(ray_address: str | None) -> bool:
    """True when Ray is started here or joined at a loopback address such as 127.0.0.1:6379."""
    if not ray_address:
        return True
    host = ray_address.rpartition(":")[0] if "://" not in ray_address else ""
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def start_ray(settings: ExecutorSettings, runtime_env: dict[str, Any] | None = None) -> None:
    """Join the Ray cluster at RAY_ADDRESS, or start a local one listening on 127.0.0.1 only (usage stats off:
    no internet here). ``runtime_env`` is Ray's, for the job's workers (tests use it to load test actions)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if _on_loopback(settings.ray_address):
        # A local Ray is for this machine alone. ray.init replaces 127.0.0.1 (as _node_ip_address or in the
        # address it joins) with the host's routable address, and with that address Ray's gRPC servers (GCS,
        # raylet, workers) listen on every interface, or a loopback-only cluster cannot be joined. Ray's
        # single-machine mode (its default on macOS and Windows) keeps the loopback address, so every server
        # binds 127.0.0.1.
        ray_constants.ENABLE_RAY_CLUSTER = False
    # Ray workers import the extra action modules themselves: local ones inherit this environment, a cluster's
    # get the variable through the job's runtime environment (no download involved).
    # So do the tracing variables: each Ray worker exports its tasks' spans itself (``ray_spans``).
    modules = ",".join(settings.action_modules)
    os.environ[ACTION_MODULES_ENV] = modules
    forwarded = ({ACTION_MODULES_ENV: modules} if modules else {}) | tracing.forwarded_env()
    ray.init(
        address=settings.ray_address or None,
        num_cpus=None if settings.ray_address else settings.ray_num_cpus,
        include_dashboard=False,
        log_to_driver=settings.ray_log_to_driver,
        runtime_env=_with_env(runtime_env, forwarded) if settings.ray_address else runtime_env,
    )


def _with_env(runtime_env: dict[str, Any] | None, variables: dict[str, str]) -> dict[str, Any] | None:
    """``runtime_env`` plus ``variables``, for a cluster's workers (they do not inherit ours)."""
    if not variables:
        return runtime_env
    env = dict(runtime_env or {})
    env["env_vars"] = {**env.get("env_vars", {}), **variables}
    return env


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
    """Start the executor from its ``EXECUTOR_*`` settings: import every action module (the configured ones and
    the plugins) so a missing one fails here, start or join Ray, serve until stopped, then shut Ray down."""
    settings = ExecutorSettings()
    logs.configure("executor", settings.log_level)
    tracing.setup("alertmesh-executor")
    import_action_modules(settings.action_modules)  # fail at start, not at the first alert, if one is missing
    load_plugins()  # the same for packages declaring actions in the alertmesh.actions entry-point group
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
