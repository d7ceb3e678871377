"""The mesh in the foreground: start every part in order, say where each is, run until a signal, stop them all
(``alertmesh up``); or, once ready, push one alert through and print its result (``alertmesh demo``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson

from alertmesh import kafka_tools
from alertmesh.stack.mesh import (
    MeshPlan,
    MeshSettings,
    UnsafeDirectoryError,
    WebhookKey,
    ensure_webhook_key,
    exposure_warnings,
    kafka_settings,
    plan,
    ports_in_use,
    prepare_private_dirs,
    traces_dir,
    webhook_usage,
)
from alertmesh.stack.part_logs import LOGS_DIR_NAME, PartLogs
from alertmesh.stack.state import mesh_file, recorder
from alertmesh.stack.supervisor import StartupError, Supervisor, print_output
from alertmesh.trace import render_finished_trace
from alertmesh.views.result_summary import summarize
from schemas import WorkflowResult
from services.shared.topics import TopicSettings

log = logging.getLogger("alertmesh")

AfterReady = Callable[[MeshPlan], Awaitable[int]]


async def up(settings: MeshSettings, after_ready: AfterReady | None = None) -> int:
    """Start everything, report where it is, then run until a signal (or until ``after_ready`` returns)."""
    if refusal := _prepare(settings):
        log.error("cannot start: %s", refusal)
        return 2
    webhook_key = ensure_webhook_key(settings)
    mesh = plan(settings)
    logs = PartLogs(settings.state_dir.resolve() / LOGS_DIR_NAME)
    supervisor = Supervisor(output=logs.tee(print_output))
    # mesh.json: rewritten whenever a part starts, exits or stops (alertmesh status reads it).
    supervisor.on_change = recorder(
        mesh_file(settings.state_dir.resolve()), mesh, lambda: supervisor.children, datetime.now(UTC)
    )
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main.cancel)
    started = time.monotonic()
    try:
        if mesh.servers:
            await supervisor.start_stage(mesh.servers)
        if settings.external_kafka is not None:
            await mesh.ensure_topics()
        for stage in mesh.ray_stages:
            await supervisor.start_stage(stage)
        await supervisor.start_stage(mesh.services)
        _report_ready(mesh, settings, webhook_key)
        log.info("ready in %.1fs", time.monotonic() - started)
        if after_ready is not None:
            return await after_ready(mesh)
        await asyncio.Event().wait()  # until a signal cancels this task
        return 0
    except StartupError as error:
        log.error("startup failed: %s", error)
        return 1
    except asyncio.CancelledError:
        log.info("stopping")
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        with contextlib.suppress(asyncio.CancelledError):
            await supervisor.stop()
        logs.close()
        log.info("stopped")


def _report_ready(mesh: MeshPlan, settings: MeshSettings, webhook_key: WebhookKey) -> None:
    """Where everything is, how to post an alert, and what any local user can reach."""
    status = f"Status           alertmesh status --state-dir {settings.state_dir} [--watch]"
    logs = f"Logs             {settings.state_dir.resolve() / LOGS_DIR_NAME}/<part>.log"
    for line in [*mesh.describe(), *webhook_usage(mesh, webhook_key), status, logs]:
        log.info(line)
    for line in exposure_warnings(settings):
        log.warning(line)


def _prepare(settings: MeshSettings) -> str | None:
    """Why ``up`` cannot start (ports taken, a state or Ray dir that is not safely this user's); None once the
    private directories are ready."""
    if busy := ports_in_use(settings):
        return f"{', '.join(busy)} already in use (is another alertmesh up running?)"
    try:
        prepare_private_dirs(settings)
    except UnsafeDirectoryError as error:
        return str(error)
    return None


async def demo(settings: MeshSettings, alert: bytes, timeout_s: float) -> int:
    """``up``, then push one alert through and print the WorkflowResult it produced."""

    async def push_alert(mesh: MeshPlan) -> int:
        kafka, topics = kafka_settings(mesh), TopicSettings()
        before = await kafka_tools.end_offsets(kafka, topics.results)
        sent = time.monotonic()
        await kafka_tools.publish(kafka, topics.raw, alert, headers={"content-type": "application/json"})
        log.info("published the demo alert to %s; waiting for its result", topics.raw)
        try:
            async for value in kafka_tools.read(kafka, topics.results, follow=True, start=before, timeout_s=timeout_s):
                result = WorkflowResult.from_json(value)
                elapsed_s = time.monotonic() - sent
                log.info("result after %.0f ms:", elapsed_s * 1000)
                # For people first: the summary and the alert's trace, then the event itself (its JSON starts on
                # a line of its own).
                print(summarize(result, elapsed_s) + "\n")
                print(await demo_trace(mesh, settings, result) + "\n")
                print(orjson.dumps(result.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
                return 0 if result.data.status == "completed" else 1
        except TimeoutError:
            log.error("no result within %.0fs", timeout_s)
        return 1

    return await up(settings, after_ready=push_alert)


async def demo_trace(mesh: MeshPlan, settings: MeshSettings, result: WorkflowResult) -> str:
    """The demo alert's trace as ``alertmesh trace`` prints it, once every service has written its spans."""
    return await render_finished_trace(result.data.workflow_id, traces_dir(settings), temporal_ui=mesh.temporal_ui)
