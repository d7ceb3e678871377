"""``python -m services.executor`` as a user runs it: joins Ray, serves /healthz, runs actions, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from alertmesh.stack.embedded import free_port
from services.shared.temporal import TemporalSettings

from .one_action_workflow import ActionRequest, RunOneAction, action_queue_for

pytestmark = pytest.mark.integration

WORKFLOW_QUEUE = "executor-test-main"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def executor(temporal_server: Any, ray_session: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The executor process, joined to the test session's Ray cluster (RAY_ADDRESS) to skip a second Ray start."""
    port = free_port()
    env = {
        **os.environ,
        "RAY_ADDRESS": ray_session,
        "TEMPORAL_ADDRESS": temporal_server.address,
        "TEMPORAL_ACTION_TASK_QUEUE": action_queue_for(WORKFLOW_QUEUE),
        "EXECUTOR_HEALTH_PORT": str(port),
        "EXECUTOR_GRACEFUL_SHUTDOWN_S": "0",
    }
    log = (tmp_path / "executor.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.executor"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process, f"http://127.0.0.1:{port}/healthz"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


async def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, "executor exited before becoming healthy"
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} not healthy within {timeout} s")


async def test_executor_process_runs_actions_and_stops_cleanly(
    executor: tuple[subprocess.Popen[bytes], str], temporal_server: Any
) -> None:
    process, health_url = executor
    await wait_healthy(health_url, process)
    client = await TemporalSettings(address=temporal_server.address).connect()
    request = ActionRequest(
        workflow_id="wf", ref="urls", action="core.text.extract_urls", args={"texts": "x http://a.example/"},
        correlationid="alert-1",
    )  # fmt: skip
    workflows = Worker(
        client, task_queue=WORKFLOW_QUEUE, workflows=[RunOneAction], workflow_runner=UnsandboxedWorkflowRunner()
    )
    async with workflows:
        report = await client.execute_workflow(
            RunOneAction.run, request, id=f"executor-main-{uuid.uuid4()}", task_queue=WORKFLOW_QUEUE
        )
    assert (report.status, report.result) == ("succeeded", ["http://a.example/"])

    process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(process.wait, 30) == 0
