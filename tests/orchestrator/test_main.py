"""``python -m services.orchestrator`` as a user runs it: health endpoint, clean SIGTERM, bad workflow files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from alertmesh.stack.embedded import free_port
from services.orchestrator.defaults import WORKFLOWS_DIR
from tests.conftest import REPO, TemporalServer


def orchestrator_env(**extra: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "ORCHESTRATOR_GROUP_ID": f"main-{tag}",
        "ALERTMESH_TOPIC_TRIGGERS": f"triggers-{tag}",
        "ALERTMESH_TOPIC_RESULTS": f"results-{tag}",
        "ALERTMESH_TOPIC_DLQ": f"dlq-{tag}",
        "TEMPORAL_WORKFLOW_TASK_QUEUE": f"wf-{tag}",
        **extra,
    }


def test_bad_workflow_file_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: Bad Name\nactions: []\n")
    done = subprocess.run(
        [sys.executable, "-m", "services.orchestrator"],
        env=orchestrator_env(ORCHESTRATOR_WORKFLOWS_DIR=str(tmp_path)),
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert b"bad.yaml:1:7: name: String should match pattern" in done.stderr


def test_a_bad_vars_file_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "vars.yaml").write_text("- not\n- a mapping\n")
    done = subprocess.run(
        [sys.executable, "-m", "services.orchestrator"],
        env=orchestrator_env(ORCHESTRATOR_VARS_FILE=str(tmp_path / "vars.yaml")),
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert b"vars.yaml:1:1: workspace variables must be a mapping with string keys" in done.stderr


def healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


@pytest.mark.integration
def test_runs_healthy_and_stops_cleanly_on_sigterm(kafka_bootstrap: str, temporal_server: TemporalServer) -> None:
    port = free_port()
    env = orchestrator_env(
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        TEMPORAL_ADDRESS=temporal_server.address,
        ORCHESTRATOR_HEALTH_PORT=str(port),
        ORCHESTRATOR_WORKFLOWS_DIR=str(WORKFLOWS_DIR),
    )
    process = subprocess.Popen([sys.executable, "-m", "services.orchestrator"], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while healthz(port) != 200:
            assert process.poll() is None, "orchestrator exited during start-up"
            assert time.monotonic() < deadline, "orchestrator never became healthy"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
