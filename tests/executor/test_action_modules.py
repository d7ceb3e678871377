"""EXECUTOR_ACTION_MODULES: extra modules whose @action functions the executor and its Ray workers offer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from alertmesh.stack.embedded import free_port
from services.executor.config import ExecutorSettings
from services.executor.outcome import ACTION_MODULES_ENV, run_captured
from services.shared.temporal import TemporalSettings

from .one_action_workflow import ActionRequest, RunOneAction, action_queue_for
from .test_main import wait_healthy

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_QUEUE = "executor-test-action-modules"
CHAOS_ACTIONS = "alertmesh.chaos.actions"


def test_setting_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ACTION_MODULES_ENV, " a.b , c ,")
    assert ExecutorSettings().action_modules == ["a.b", "c"]
    monkeypatch.delenv(ACTION_MODULES_ENV)
    assert ExecutorSettings().action_modules == []


def test_run_captured_imports_the_configured_modules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    args = {"file": str(tmp_path / "runs"), "workflow_id": "wf-1"}
    monkeypatch.setenv(ACTION_MODULES_ENV, CHAOS_ACTIONS)
    outcome = run_captured("chaos.record_run", args)
    assert outcome.ok, outcome
    assert (tmp_path / "runs").read_text().startswith("wf-1\t")


def test_a_missing_module_is_a_failed_outcome_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ACTION_MODULES_ENV, "no_such_module_here")
    outcome = run_captured("core.transform.reshape", {"value": 1})
    assert (outcome.ok, outcome.error_type) == (False, "ModuleNotFoundError")
    assert "no_such_module_here" in (outcome.error_message or "")


@pytest.fixture
def executor_with_chaos_actions(
    temporal_server: Any, ray_session: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The executor process joined to the session's Ray cluster (so the module reaches Ray's workers through the
    job's runtime environment, as on a real cluster), offering the chaos actions."""
    port = free_port()
    env = {
        **os.environ,
        "RAY_ADDRESS": ray_session,
        "TEMPORAL_ADDRESS": temporal_server.address,
        "TEMPORAL_ACTION_TASK_QUEUE": action_queue_for(WORKFLOW_QUEUE),
        "EXECUTOR_HEALTH_PORT": str(port),
        "EXECUTOR_GRACEFUL_SHUTDOWN_S": "0",
        ACTION_MODULES_ENV: CHAOS_ACTIONS,
    }
    with (tmp_path / "executor.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.executor"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield process, f"http://127.0.0.1:{port}/healthz"
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.mark.integration
async def test_executor_runs_an_action_from_a_configured_module(
    executor_with_chaos_actions: tuple[subprocess.Popen[bytes], str], temporal_server: Any, tmp_path: Path
) -> None:
    process, health_url = executor_with_chaos_actions
    await wait_healthy(health_url, process)
    client = await TemporalSettings(address=temporal_server.address).connect()
    runs = tmp_path / "runs"
    request = ActionRequest(
        workflow_id="wf-modules", ref="record", action="chaos.record_run",
        args={"file": str(runs), "workflow_id": "wf-modules"}, correlationid="alert-1",
    )  # fmt: skip
    workflows = Worker(
        client, task_queue=WORKFLOW_QUEUE, workflows=[RunOneAction], workflow_runner=UnsandboxedWorkflowRunner()
    )
    async with workflows:
        report = await client.execute_workflow(
            RunOneAction.run, request, id=f"executor-modules-{uuid.uuid4()}", task_queue=WORKFLOW_QUEUE
        )
    assert report.status == "succeeded", report.error
    assert runs.read_text().startswith("wf-modules\t")
