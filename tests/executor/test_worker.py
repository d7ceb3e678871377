"""``run_action`` through a real Temporal dev server and real Ray, on the worker ``build_worker`` makes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from schemas.actions import ActionReport, ActionRequest
from services.executor.config import ExecutorSettings
from services.executor.worker import build_worker
from services.shared.temporal import TemporalSettings

from .one_action_workflow import RunOneAction, action_queue_for

pytestmark = pytest.mark.integration

WORKFLOW_QUEUE = "executor-test-worker"


@pytest.fixture(scope="module")
async def client(temporal_server: Any, ray_session: str) -> AsyncIterator[Client]:
    temporal = TemporalSettings(address=temporal_server.address, action_task_queue=action_queue_for(WORKFLOW_QUEUE))
    settings = ExecutorSettings(temporal=temporal, max_concurrent_actions=4, graceful_shutdown_seconds=0)
    client = await temporal.connect()
    # The test workflow lives in a test module; unsandboxed so the sandbox need not re-import pytest and Ray.
    workflows = Worker(
        client, task_queue=WORKFLOW_QUEUE, workflows=[RunOneAction], workflow_runner=UnsandboxedWorkflowRunner()
    )
    async with build_worker(client, settings), workflows:
        yield client


async def run(client: Client, action: str, **args: object) -> ActionReport:
    request = ActionRequest(workflow_id="wf", ref="step-1", action=action, args=args, correlationid="alert-1")
    return await client.execute_workflow(
        RunOneAction.run, request, id=f"executor-test-{uuid.uuid4()}", task_queue=WORKFLOW_QUEUE
    )


async def test_report_of_a_successful_action(client: Client) -> None:
    report = await run(client, "core.text.extract_urls", texts={"a": "see https://a.example/x, then"})
    assert (report.ref, report.action, report.status, report.result) == (
        "step-1",
        "core.text.extract_urls",
        "succeeded",
        ["https://a.example/x"],
    )
    assert report.error is None and report.attempts == 1
    assert report.started_at and report.finished_at and report.duration_ms is not None


async def test_report_of_a_failed_action(client: Client) -> None:
    report = await run(client, "core.http_request", url="http://example.invalid", timeout=999)
    assert report.status == "failed" and report.attempts == 1
    assert report.error is not None and report.error.type == "InvalidArguments"
    assert "timeout: Input should be less than or equal to 300" in report.error.message
