"""Replays saved DSLWorkflow histories: catches non-deterministic changes to the workflow code.

Both without the sandbox (as the orchestrator's worker runs it) and inside it (whose checks are kept here, in CI).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from services.orchestrator.workflow import DSLWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_is_a_saved_history() -> None:
    # The demo workflow, a failure, a result cut to fit, the full DSL (``dsl-*``), and one per patched gate (named
    # after it): see histories/README.md.
    assert [path.name for path in HISTORIES] == [
        "alert-data-bounds.json",
        "dsl-parent.json",
        "dsl-playbook.json",
        "dsl-resolved.json",
        "dsl-retried.json",
        "dsl-timed-out.json",
        "failing.json",
        "result-refused-then-cut.json",
        "triage.json",
    ]


RUNNERS: dict[str, WorkflowRunner] = {
    "unsandboxed": UnsandboxedWorkflowRunner(),
    "sandboxed": SandboxedWorkflowRunner(),
}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_saved_history_replays(path: Path, runner: str) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[DSLWorkflow], data_converter=pydantic_data_converter, workflow_runner=RUNNERS[runner]
    )
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
