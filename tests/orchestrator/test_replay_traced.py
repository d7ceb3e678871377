"""The saved histories replay the same with Temporal's tracing interceptor on the worker, as every alertmesh
worker has it (``TemporalSettings.connect``): it adds headers, never commands, and makes no span while replaying."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import WorkflowHistory
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from services.orchestrator.workflow import DSLWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
RUNNERS: dict[str, WorkflowRunner] = {
    "unsandboxed": UnsandboxedWorkflowRunner(),
    "sandboxed": SandboxedWorkflowRunner(),
}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_saved_history_replays_with_the_tracing_interceptor(path: Path, runner: str) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    replayer = Replayer(
        workflows=[DSLWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=RUNNERS[runner],
        interceptors=[TracingInterceptor(provider.get_tracer("test"))],
    )
    result = await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()))
    assert result.replay_failure is None
    assert spans.get_finished_spans() == ()
