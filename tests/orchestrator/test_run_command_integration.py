"""``alertmesh run FILE`` as a user runs it (a subprocess) against a running orchestrator and executor: a file
outside the orchestrator's folder, a trigger from a file, workspace variables, exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import WorkflowResult
from tests.conftest import REPO
from tests.orchestrator.conftest import Mesh

pytestmark = pytest.mark.integration

WORKFLOW = """\
name: adhoc
entrypoint:
  expects:
    who: {type: str}
actions:
  - ref: greet
    action: core.transform.reshape
    args: {value: "hello ${{ TRIGGER.inputs.who }}"}
  - ref: notify
    action: core.workflow.execute
    depends_on: [greet]
    args: {workflow: adhoc-child, inputs: {text: "${{ ACTIONS.greet.result }}"}}
returns:
  greeting: ${{ ACTIONS.notify.result }}
  site: ${{ VARS.site }}
  alert: ${{ TRIGGER.alert.name }}
"""
CHILD = """\
name: adhoc-child
actions:
  - ref: shout
    action: core.transform.reshape
    args: {value: "${{ TRIGGER.inputs.text }}!"}
returns: ${{ ACTIONS.shout.result }}
"""


def command(mesh: Mesh, *args: str, queue: str | None = None) -> subprocess.CompletedProcess[str]:
    temporal = mesh.settings.temporal
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": temporal.address,
        "TEMPORAL_WORKFLOW_TASK_QUEUE": queue or temporal.workflow_task_queue,
        "TEMPORAL_ACTION_TASK_QUEUE": temporal.action_task_queue,
    }
    return subprocess.run(
        [sys.executable, "-m", "alertmesh.cli", "run", *args], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


async def test_run_prints_the_result_last_and_exits_by_status(mesh: Mesh, tmp_path: Path) -> None:
    flows = tmp_path / "flows"  # the child is found next to the file
    flows.mkdir()
    (flows / "adhoc.yaml").write_text(WORKFLOW)
    (flows / "adhoc-child.yaml").write_text(CHILD)
    (tmp_path / "trigger.json").write_text(json.dumps({"inputs": {"who": "soc"}}))
    (tmp_path / "vars.yaml").write_text("site: eu-1\n")
    file = str(flows / "adhoc.yaml")

    done = await asyncio.to_thread(
        command, mesh, file, "--trigger", f"@{tmp_path / 'trigger.json'}", "--vars", str(tmp_path / "vars.yaml")
    )
    assert done.returncode == 0, done.stderr
    event = WorkflowResult.from_json(done.stdout.strip().splitlines()[-1])
    assert event.data.status == "completed", event.data.error
    assert event.data.workflow_id.startswith("run:adhoc:")
    assert event.data.returns == {"greeting": "hello soc!", "site": "eu-1", "alert": "adhoc"}

    failed = await asyncio.to_thread(command, mesh, file, "--trigger", '{"inputs": {"who": 3}}')
    assert failed.returncode == 1, failed.stderr
    event = WorkflowResult.from_json(failed.stdout.strip().splitlines()[-1])
    assert event.data.status == "failed"
    assert event.data.error == "entrypoint.expects: input 'who' must be str, got int 3"

    (tmp_path / "broken.yaml").write_text("name: broken\nactions: []\n")
    refused = await asyncio.to_thread(command, mesh, str(tmp_path / "broken.yaml"))
    assert refused.returncode == 2 and "broken.yaml" in refused.stderr and not refused.stdout


async def test_run_gives_up_waiting_at_its_timeout_when_no_orchestrator_runs_it(mesh: Mesh, tmp_path: Path) -> None:
    (tmp_path / "adhoc-child.yaml").write_text(CHILD)
    file = str(tmp_path / "adhoc-child.yaml")
    done = await asyncio.to_thread(command, mesh, file, "--timeout", "1", queue="nobody-polls-this")
    assert done.returncode == 1 and not done.stdout
    assert "still running after 1 s" in done.stderr and "nobody-polls-this" in done.stderr
