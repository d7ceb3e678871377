"""``alertmesh status`` and ``alertmesh results`` against the whole running mesh (``alertmesh up``): every part
healthy with its pid from ``mesh.json``, consumer lag, running workflows, a dead letter once one is caused, a
restart counted with its exit code, ``--watch`` on a terminal, and the results table."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alertmesh import kafka_tools
from alertmesh.samples import sample
from alertmesh.stack.state import mesh_file, read_mesh_state
from alertmesh.status.report import CLEAR_SCREEN
from schemas import DeadLetter, WorkflowResult
from schemas.result import Result
from tests.e2e.conftest import Mesh
from tests.e2e.kafka_reading import next_event
from tests.e2e.mesh_process import REPO

pytestmark = pytest.mark.integration

PARTS = {"kafka", "temporal", "ingest", "webhook", "orchestrator", "executor"}
SAMPLE = sample("alertmanager-v4-firing.json").read_bytes()


def state_dir(mesh: Mesh) -> str:
    """The state dir the mesh fixture gave ``alertmesh up`` (where its ``mesh.json`` is)."""
    return mesh.process.args[mesh.process.args.index("--state-dir") + 1]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alertmesh.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "160", **(env or {})},
    )  # fmt: skip


def status(mesh: Mesh, interval: float = 1.0) -> tuple[int, dict[str, Any]]:
    done = cli("status", "--state-dir", state_dir(mesh), "--json", "--interval", str(interval))
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


async def healthy_status(mesh: Mesh, timeout_s: float = 180) -> dict[str, Any]:
    """A report with every part up (another test may just have killed one; the supervisor brings it back)."""
    deadline = time.monotonic() + timeout_s
    while True:
        code, report = await asyncio.to_thread(status, mesh)
        if code == 0:
            return report
        assert time.monotonic() < deadline, json.dumps(report, indent=2)
        await asyncio.sleep(2)


def variant(fingerprint: str) -> bytes:
    body = json.loads(SAMPLE)
    body["alerts"] = [{**body["alerts"][0], "fingerprint": fingerprint}]
    return json.dumps(body).encode()


async def test_status_reports_every_part_healthy_with_lag_workflows_rates_and_a_new_dead_letter(mesh: Mesh) -> None:
    report = await healthy_status(mesh)
    recorded = read_mesh_state(mesh_file(Path(state_dir(mesh))))
    assert set(report["parts"]) == PARTS
    for name, part in report["parts"].items():
        assert part["healthy"] is True, (name, part)
        assert part["pid"] == recorded.parts[name].pid and part["pid"] is not None
        assert part["restarts"] == recorded.parts[name].restarts
    assert report["kafka_error"] is None and report["temporal_error"] is None
    assert isinstance(report["workflows_running"], int) and report["workflows_running"] >= 0
    lag = {(row["group"], row["topic"], row["partition"]) for row in report["consumer_lag"]}
    assert lag == {
        (group, topic, partition)
        for group, topic in (
            ("alertmesh-ingest", "alerts.raw"),
            ("alertmesh-ingest-decide", "alertmesh.routed"),
            ("alertmesh-orchestrator", "alertmesh.triggers"),
        )
        for partition in range(3)
    }
    assert all(row["lag"] >= 0 for row in report["consumer_lag"])

    # Rates: alerts keep flowing while status takes its two readings (4 s apart).
    status_run = asyncio.create_task(asyncio.to_thread(status, mesh, 4.0))
    results_from = await kafka_tools.end_offsets(mesh.kafka, mesh.topics.results)
    fingerprints = []
    while not status_run.done():
        fingerprints.append(uuid.uuid4().hex[:16])
        await kafka_tools.publish(mesh.kafka, mesh.topics.raw, variant(fingerprints[-1]))
        await asyncio.sleep(0.3)
    _, flowing = await status_run
    for name in ("ingest", "webhook", "orchestrator", "executor"):  # every service serves /metrics
        part = flowing["parts"][name]
        assert part["metrics"] == "ok", (name, part)
        assert all(isinstance(value, float) and value >= 0 for value in part["rates"].values()), (name, part)
    for name in ("kafka", "temporal"):  # no /metrics of theirs is read: no rate is made up
        assert flowing["parts"][name]["rates"] == {"received": None, "sent": None, "dead_letters": None}
    assert flowing["parts"]["ingest"]["rates"]["received"] > 0 and flowing["parts"]["ingest"]["rates"]["sent"] > 0
    await next_event(mesh.kafka, mesh.topics.results, WorkflowResult, results_from,
                     lambda r: fingerprints[-1] in r.data.workflow_id, timeout_s=90)  # fmt: skip

    poison = f'{{"not json at all {uuid.uuid4()}'.encode()
    dlq_from = await kafka_tools.end_offsets(mesh.kafka, mesh.topics.dlq)
    await kafka_tools.publish(mesh.kafka, mesh.topics.raw, poison)
    letter = await next_event(mesh.kafka, mesh.topics.dlq, DeadLetter, dlq_from, lambda d: d.data.original == poison)
    report = await healthy_status(mesh)
    assert letter.id in [row["id"] for row in report["recent_dead_letters"]]
    assert report["dead_letters_on_topic"] >= 1
    text = await asyncio.to_thread(cli, "status", "--state-dir", state_dir(mesh), "--interval", "0.5")
    assert text.returncode == 0, text.stdout + text.stderr
    assert letter.id[:8] in text.stdout and "parse" in text.stdout
    assert "Workflows running  " in text.stdout
    assert re.search(r"alertmesh-ingest-decide +alertmesh\.routed", text.stdout), text.stdout
    assert re.search(r"alertmesh-orchestrator +alertmesh\.triggers", text.stdout), text.stdout


async def test_status_counts_a_restart_with_its_exit_code(mesh: Mesh) -> None:
    before = (await healthy_status(mesh))["parts"]["webhook"]
    os.kill(before["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 120
    while True:
        code, report = await asyncio.to_thread(status, mesh, 0.5)
        webhook = report["parts"]["webhook"]
        if code == 0 and webhook["restarts"] == before["restarts"] + 1:
            break
        assert time.monotonic() < deadline, json.dumps(webhook)
        await asyncio.sleep(1)
    assert webhook["healthy"] is True and webhook["pid"] != before["pid"]
    assert webhook["last_exit_code"] == -signal.SIGKILL


def read_terminal(controller: int, until: bytes, count: int, timeout_s: float) -> bytes:
    """What the command wrote to the terminal, once ``until`` appeared ``count`` times (or the time ran out)."""
    output, deadline = b"", time.monotonic() + timeout_s
    with contextlib.suppress(OSError):
        while output.count(until) < count and time.monotonic() < deadline:
            output += os.read(controller, 65536)
    return output


def on_terminal(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    controller, screen = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "alertmesh.cli", *args], cwd=REPO, stdout=screen, stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "160", **(env or {})},
    )  # fmt: skip
    os.close(screen)
    return process, controller


async def test_status_watch_redraws_a_terminal_in_place_and_ctrl_c_exits_0(mesh: Mesh) -> None:
    await healthy_status(mesh)
    process, controller = on_terminal("status", "--watch", "--interval", "1", "--state-dir", state_dir(mesh))
    try:
        screen = await asyncio.to_thread(read_terminal, controller, CLEAR_SCREEN.encode(), 3, 90)
        process.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(process.wait, 30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    frames = screen.decode().replace("\r\n", "\n").split(CLEAR_SCREEN)
    assert len(frames) >= 3 and frames[0] == ""
    # The second report has rates over the time since the first (or says that no part serves /metrics).
    assert "(rates over " in frames[2] or "(no rates: no part serves /metrics)" in frames[2], frames[2]
    for name in PARTS:
        assert any(line.split()[:2] == [name, "up"] for line in frames[2].splitlines()), frames[2]


async def test_results_is_a_table_on_a_terminal_and_the_events_themselves_when_piped(mesh: Mesh) -> None:
    results_from = await kafka_tools.end_offsets(mesh.kafka, mesh.topics.results)
    fingerprint = uuid.uuid4().hex[:16]
    await kafka_tools.publish(mesh.kafka, mesh.topics.raw, variant(fingerprint))
    result = await next_event(mesh.kafka, mesh.topics.results, WorkflowResult, results_from,
                              lambda r: fingerprint in r.data.workflow_id, timeout_s=90)  # fmt: skip
    # The commands read KAFKA_*, as from a user's shell.
    env = {"KAFKA_BOOTSTRAP_SERVERS": mesh.kafka.bootstrap_servers}
    values = [value async for value in kafka_tools.read(mesh.kafka, mesh.topics.results, follow=False)]
    count = str(len(values))
    piped = await asyncio.to_thread(cli, "results", "--count", count, "--timeout", "60", env=env)
    assert piped.returncode == 0, piped.stderr
    # Byte for byte the events on the topic, one a line: what scripts, bench and chaos read (the partitions may
    # interleave differently from one read to the next).
    assert piped.stdout.endswith("\n")
    assert sorted(piped.stdout.splitlines()) == sorted(value.decode() for value in values)

    process, controller = on_terminal("results", "--count", count, "--timeout", "60", env=env)
    try:
        screen = await asyncio.to_thread(read_terminal, controller, result.data.workflow_id.encode(), 1, 90)
        assert await asyncio.to_thread(process.wait, 60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    lines = screen.decode().replace("\r\n", "\n").splitlines()
    assert lines[0].split()[:4] == ["TIME", "(UTC)", "WORKFLOW", "STATUS"]
    row = next(line for line in lines if line.endswith(result.data.workflow_id))
    ok = sum(action.status == "succeeded" for action in result.data.actions)
    assert row.split()[2:6] == [result.data.workflow, "completed", str(ok), "ok"]


async def test_status_lists_a_failed_result_from_the_results_topic(mesh: Mesh) -> None:
    # The demo workflows do not fail on any alert, so the failed result is written as the orchestrator writes
    # one (keyed by workflow id); status reads it back from the real topic's tail.
    now = datetime.now(UTC)
    workflow_id = f"triage:status-test:{uuid.uuid4().hex[:12]}:firing:x"
    data = Result(
        workflow="triage", workflow_id=workflow_id, run_id="run-1", status="failed", started_at=now, finished_at=now,
        error="action notify failed: HTTP 503 from the pager", actions=[],
    )  # fmt: skip
    result = WorkflowResult(id=str(uuid.uuid4()), source="alertmesh/orchestrator", time=now,
                            correlationid="c", causationid="c", data=data)  # fmt: skip
    await kafka_tools.publish(mesh.kafka, mesh.topics.results, result.to_json(), key=workflow_id.encode())
    report = await healthy_status(mesh)
    failed = {row["workflow_id"]: row for row in report["recent_failed_results"]}
    assert failed[workflow_id]["error"] == "action notify failed: HTTP 503 from the pager"
    text = await asyncio.to_thread(cli, "status", "--state-dir", state_dir(mesh), "--interval", "0.5")
    assert workflow_id in text.stdout and "error: action notify failed: HTTP 503 from the pager" in text.stdout
