"""``python -m services.executor``: start Ray, then a Temporal worker running actions until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
from typing import Any

import ray
from ray._private import ray_constants

from services.executor.config import ExecutorSettings
from services.executor.health import health_probe
from services.executor.outcome import ACTION_MODULES_ENV, import_action_modules
from services.executor.worker import build_worker
from services.shared import logs
from services.shared.health import HealthServer

log = logging.getLogger("services.executor")


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
    modules = ",".join(settings.action_modules)
    os.environ[ACTION_MODULES_ENV] = modules
    ray.init(
        address=settings.ray_address or None,
        num_cpus=None if settings.ray_address else settings.ray_num_cpus,
        include_dashboard=False,
        log_to_driver=settings.ray_log_to_driver,
        runtime_env=_with_action_modules(runtime_env, modules) if settings.ray_address else runtime_env,
    )


def _with_action_modules(runtime_env: dict[str, Any] | None, modules: str) -> dict[str, Any] | None:
    """``runtime_env`` plus the action-modules variable, for a cluster's workers (they do not inherit ours)."""
    if not modules:
        return runtime_env
    env = dict(runtime_env or {})
    env["env_vars"] = {**env.get("env_vars", {}), ACTION_MODULES_ENV: modules}
    return env


async def serve(settings: ExecutorSettings) -> None:
    """Run the worker and health endpoint until a stop signal; then stop the worker (Ray is the caller's)."""
    client = await settings.temporal.connect()
    worker = build_worker(client, settings)
    health = HealthServer(settings.health_host, settings.health_port, health_probe(client))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await health.start()
    run, stopped = asyncio.create_task(worker.run()), asyncio.create_task(stop.wait())
    log.info("executor polling %r on %s", settings.temporal.action_task_queue, settings.temporal.address)
    try:
        # Also wake if the worker dies on its own (Temporal gone for good), so the process exits non-zero.
        await asyncio.wait([run, stopped], return_when=asyncio.FIRST_COMPLETED)
        if run.done():
            await run
    finally:
        stopped.cancel()
        await health.stop()
        if not run.done():
            await worker.shutdown()
            await run
        log.info("executor stopped")


def main() -> None:
    settings = ExecutorSettings()
    logs.configure("executor", settings.log_level)
    import_action_modules(settings.action_modules)  # fail at start, not at the first alert, if one is missing
    start_ray(settings)
    try:
        asyncio.run(serve(settings))
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
