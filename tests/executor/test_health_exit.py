"""The executor process notices when its Ray dies: ``/healthz`` turns 503 and the process exits non-zero."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from alertmesh.stack.embedded import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def healthz(port: int) -> int:
    """The status /healthz answers, or 0 when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def ray_process_of(pid: int, name: str) -> psutil.Process:
    """A process of the local Ray that process ``pid`` started (one of its descendants), by name."""
    for child in psutil.Process(pid).children(recursive=True):
        if name in child.name():
            return child
    raise AssertionError(f"no {name} process under the executor")


@pytest.mark.parametrize("ray_part", ["gcs_server", "raylet"])
def test_executor_exits_when_its_local_ray_dies(temporal_server: Any, tmp_path: Path, ray_part: str) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"},  # local Ray of its own, to break it alone
        "TEMPORAL_ADDRESS": temporal_server.address,
        "TEMPORAL_ACTION_TASK_QUEUE": f"health-exit-{port}",
        "EXECUTOR_HEALTH_PORT": str(port),
        "EXECUTOR_RAY_NUM_CPUS": "1",
        "EXECUTOR_GRACEFUL_SHUTDOWN_S": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    log_path = tmp_path / "executor.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.executor"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while healthz(port) != 200:
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "never healthy:\n" + log_path.read_text()[-3000:]
            time.sleep(0.3)

        ray_process_of(process.pid, ray_part).kill()
        killed = time.monotonic()

        answers = set()
        while process.poll() is None and time.monotonic() - killed < 90:
            answers.add(healthz(port))
            time.sleep(0.3)
        output = log_path.read_text()
        assert process.poll() is not None, f"still running 90 s after its {ray_part} died:\n" + output[-3000:]
        assert process.returncode != 0, output[-3000:]
        assert 503 in answers, f"/healthz answered {answers} after the {ray_part} died"
        assert "inner part died: Ray cluster:" in output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # Whatever local Ray left behind (raylet, workers) goes with the executor's session.
        for leftover in psutil.process_iter(["pid"]):
            try:
                if os.getpgid(leftover.pid) == process.pid:
                    leftover.kill()
            except (ProcessLookupError, psutil.Error):
                pass
