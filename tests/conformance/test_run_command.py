"""``alertmesh run FILE --trigger JSON``: one workflow file run on the running stack (here, the suite's), its
WorkflowResult printed last as JSON, the exit status saying whether it completed."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
import pytest_asyncio

from schemas import WorkflowResult
from services.orchestrator.defaults import WORKFLOWS_DIR
from tests.conformance.harness import Stack, statuses
from tests.conftest import REPO
from tests.orchestrator.factories import DEMO_ALERT

pytestmark = pytest.mark.integration

FAILING = """\
name: run-command-fails
actions:
  - ref: check
    action: core.require
    args:
      conditions:
        severe_enough: ${{ TRIGGER.inputs.score > 5 }}
"""


async def alertmesh_run(stack: Stack, file: Path, trigger: dict[str, object]) -> tuple[int, str, str]:
    """Run the command against the suite's stack; (exit status, stdout, stderr)."""
    temporal = stack.settings.temporal
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TEMPORAL_ADDRESS": temporal.address,
        "TEMPORAL_WORKFLOW_TASK_QUEUE": temporal.workflow_task_queue,
        "TEMPORAL_ACTION_TASK_QUEUE": temporal.action_task_queue,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alertmesh.cli", "run", str(file), "--trigger", json.dumps(trigger),
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runs(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    """Both commands at once (each is a Python process start)."""
    failing = tmp_path_factory.mktemp("run-command") / "failing.yaml"
    failing.write_text(FAILING, encoding="utf-8")
    stack.set_secrets({"threatintel": {"API_KEY": "run-command-key"}})
    playbook = alertmesh_run(
        stack,
        WORKFLOWS_DIR / "triage-playbook.yaml",
        {"inputs": {"page": True}, "alert": DEMO_ALERT.model_dump(mode="json")},
    )
    fails = alertmesh_run(stack, failing, {"inputs": {"score": 2}})
    done = await asyncio.gather(playbook, fails)
    return {"playbook": done[0], "fails": done[1]}


async def test_run_prints_the_result_last_and_exits_zero_when_completed(
    runs: dict[str, tuple[int, str, str]],
) -> None:
    code, out, err = runs["playbook"]
    assert code == 0, err
    result = WorkflowResult.from_json(out.strip().splitlines()[-1].encode())
    assert (result.data.workflow, result.data.status) == ("triage-playbook", "completed")
    assert result.data.workflow_id.startswith("run:triage-playbook:")
    assert statuses(result)["reputation_unavailable"] == "succeeded"
    assert "run-command-key" not in out + err


async def test_run_exits_non_zero_when_the_workflow_failed(runs: dict[str, tuple[int, str, str]]) -> None:
    code, out, err = runs["fails"]
    assert code == 1, err
    result = WorkflowResult.from_json(out.strip().splitlines()[-1].encode())
    assert result.data.status == "failed"
    assert result.data.error is not None and "severe_enough" in result.data.error
