"""One stack for the whole conformance suite (package scope): the session's Temporal dev server and broker, the
orchestrator's workflow worker here, and the executor as its own process on a local Ray.

The executor is started first (Ray takes seconds to start) and the orchestrator meanwhile; a warm-up run of
``RAY_CPUS`` parallel sleeps makes Ray start its worker processes before any case measures overlap.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

import tests.conformance.actions  # noqa: F401  (registers conformance.* here too, for validation)
from alertmesh.kafka_tools import ensure_topics
from alertmesh.stack.embedded import free_port
from dsl.loader import load_workflows
from services.executor.catalog import action_catalog
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.defaults import WORKFLOWS_DIR
from services.orchestrator.service import Orchestrator, connect_temporal
from services.shared.kafka import KafkaSettings
from services.shared.temporal import TemporalSettings
from services.shared.topics import TopicSettings
from tests.conformance.harness import BLOB_THRESHOLD_BYTES, RAY_CPUS, Stack, start_executor, stop_process
from tests.conftest import REPO, TemporalServer

EXECUTOR_READY_TIMEOUT_S = 120


def _settings(kafka_bootstrap: str, temporal_address: str) -> OrchestratorSettings:
    tag = uuid.uuid4().hex[:8]
    return OrchestratorSettings(
        group_id=f"conformance-{tag}",
        workflows_dir=WORKFLOWS_DIR,
        health_port=0,
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        topics=TopicSettings.tagged(tag, prefix="c-"),
        temporal=TemporalSettings(
            address=temporal_address, workflow_task_queue=f"c-wf-{tag}", action_task_queue=f"c-actions-{tag}"
        ),
    )


def _executor_env(settings: OrchestratorSettings, files: Path) -> dict[str, str]:
    return {
        "PYTHONPATH": str(REPO),
        "RAY_USAGE_STATS_ENABLED": "0",
        "TEMPORAL_ADDRESS": settings.temporal.address,
        "TEMPORAL_ACTION_TASK_QUEUE": settings.temporal.action_task_queue,
        "EXECUTOR_RAY_NUM_CPUS": str(RAY_CPUS),
        "EXECUTOR_ACTION_MODULES": "tests.conformance.actions",
        "EXECUTOR_HEALTH_PORT": str(free_port()),
        "EXECUTOR_GRACEFUL_SHUTDOWN_S": "0",
        "EXECUTOR_RAY_LOG_TO_DRIVER": "false",
        "EXECUTOR_EGRESS_ALLOW": "127.0.0.1/32",
        "EXECUTOR_SECRETS_FILE": str(files / "secrets.json"),
        "EXECUTOR_BLOB_DIR": str(files / "blobs"),
        "EXECUTOR_BLOB_THRESHOLD_BYTES": str(BLOB_THRESHOLD_BYTES),
        # Every file the executor writes is where the secrets tests search it: its spans, and Ray's session
        # (logs of every worker), in a directory of the suite's own (``files / "ray"`` links to it).
        "ALERTMESH_TRACES_DIR": str(files / "traces"),
        "RAY_TMPDIR": str((files / "ray").resolve()),
    }


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def stack(
    kafka_bootstrap: str, temporal_server: TemporalServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    files = tmp_path_factory.mktemp("conformance")
    (files / "calls").mkdir()
    (files / "blobs").mkdir()
    (files / "secrets.json").write_text("{}", encoding="utf-8")
    # Short, under /tmp: Ray's socket paths inside it must fit in 107 bytes.
    ray_dir = Path(tempfile.mkdtemp(prefix="am-ray-"))
    (files / "ray").symlink_to(ray_dir, target_is_directory=True)
    settings = _settings(kafka_bootstrap, temporal_server.address)
    executor = start_executor(_executor_env(settings, files), files / "executor.log", REPO)
    try:
        await ensure_topics(settings.kafka, settings.topics.all(), partitions=1)
        client = await connect_temporal(settings)
        async with Orchestrator(settings, client, load_workflows(settings.workflows_dir, action_catalog)):
            stack = Stack(
                client=client,
                settings=settings,
                log_dir=files / "calls",
                secrets_file=files / "secrets.json",
                blob_dir=files / "blobs",
            )
            await _warm_up(stack, executor, files / "executor.log")
            yield stack
    finally:
        stop_process(executor)
        shutil.rmtree(ray_dir, ignore_errors=True)


async def _warm_up(stack: Stack, executor: object, log: Path) -> None:
    """Wait for the executor by running ``RAY_CPUS`` sleeps at once (Ray starts its workers on demand)."""
    warm_up = {
        "name": "warm-up",
        "actions": [{"ref": f"s{i}", "action": "conformance.sleep", "args": {"seconds": 0.1}} for i in range(RAY_CPUS)],
    }
    try:
        result = await asyncio.wait_for(stack.run(warm_up), timeout=EXECUTOR_READY_TIMEOUT_S)
    except TimeoutError:
        tail = log.read_text(errors="replace")[-4000:]
        raise AssertionError(f"the executor did not run the warm-up in {EXECUTOR_READY_TIMEOUT_S}s:\n{tail}") from None
    assert result.data.status == "completed", result.data.error
