"""The Ray topology of compose.yaml, for real: ``ray-head`` as its command line starts it, its health check,
an action run through the Ray client the executor uses, and the executor service joining over ``ray://``.

Adapted to a shared machine: free ports instead of 6379/10001, one CPU, a private temp dir (so no other Ray user
on this machine finds this cluster), and ``RAY_ADDRESS`` for ``ray status`` (inside the container the head's
own address file answers that).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alertmesh.stack.embedded import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class RayHead:
    gcs_address: str
    client_host: str
    client_port: int


def shell_env(compose_env: dict[str, str], **extra: str) -> dict[str, str]:
    """A container-like environment: compose's variables for the service, this venv's executables."""
    base = {name: os.environ[name] for name in ("HOME", "LANG") if name in os.environ}
    return base | {"PATH": f"{BIN}:/usr/bin:/bin"} | compose_env | extra


def head_command(compose_command: str, port: int, client_port: int, temp_dir: str) -> list[str]:
    argv = shlex.split(compose_command)
    assert argv[:2] == ["ray", "start"]
    replaced = {
        "--port=6379": f"--port={port}",
        "--ray-client-server-port=10001": f"--ray-client-server-port={client_port}",
        "--runtime-env-agent-port=10002": f"--runtime-env-agent-port={free_port()}",
    }
    argv = [str(BIN / "ray"), *[replaced.get(arg, arg) for arg in argv[1:]]]
    return [*argv, f"--temp-dir={temp_dir}", f"--dashboard-port={free_port()}", "--num-cpus=1"]


def healthcheck(services: dict[str, dict[str, Any]], client_port: int) -> str:
    test = services["ray-head"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    return str(test[1]).replace("10001", str(client_port))


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    # Ray's own processes share the session started for the head; leave none behind.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def ray_head(
    services: dict[str, dict[str, Any]], env_of: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RayHead]:
    # Ray's unix socket paths must stay short, hence a short temp dir rather than pytest's.
    temp_dir = tempfile.mkdtemp(prefix="amray-", dir="/tmp")
    port, client_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("ray-head") / "ray-head.log"
    head_env = env_of(services["ray-head"])
    command = head_command(services["ray-head"]["command"], port, client_port, temp_dir)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=shell_env(head_env), cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    check = healthcheck(services, client_port)
    try:
        deadline = time.monotonic() + 90
        while True:
            gcs = f"127.0.0.1:{port}"
            done = subprocess.run(
                ["sh", "-c", check], env=shell_env(head_env, RAY_ADDRESS=gcs), capture_output=True, check=False
            )
            if done.returncode == 0:
                break
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"ray-head never healthy: {done.stderr!r}\n{log.read_text()[-3000:]}"
            time.sleep(1)
        host = subprocess.run(
            [sys.executable, "-c", "import socket; print(socket.gethostbyname(socket.gethostname()))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        yield RayHead(gcs_address=gcs, client_host=host, client_port=client_port)
    finally:
        stop(process)
        shutil.rmtree(temp_dir, ignore_errors=True)


RUN_ACTION_THROUGH_CLIENT = """
import sys, ray
from services.executor.config import ExecutorSettings
from services.executor.ray_runner import run_action_task
ray.init(sys.argv[1])
limits = ExecutorSettings().action_limits()
urls = {"texts": ["see https://example.com/runbook"]}
outcome = ray.get(run_action_task.remote("core.text.extract_urls", urls, limits))
assert outcome.ok, outcome
print(outcome.value)
"""


#: Ray's client proxier sometimes finds the per-client server it just spawned already a zombie and refuses that
#: connection ("Initialization failure from server", psutil.ZombieProcess; seen 2 in about 6 runs on a loaded
#: machine). A new connection gets a new server, so only that refusal is tried again; any other failure fails.
RAY_CLIENT_START_RACE = "Initialization failure from server"
RAY_CLIENT_START_TRIES = 3


def test_an_action_runs_on_the_cluster_through_the_ray_client(
    ray_head: RayHead, services: dict[str, dict[str, Any]], env_of: Any
) -> None:
    """What the executor does with RAY_ADDRESS=ray://...: the action is imported on the Ray node, not shipped."""
    address = f"ray://{ray_head.client_host}:{ray_head.client_port}"
    executor_ray_env = {k: v for k, v in env_of(services["executor"]).items() if k.startswith("RAY_")}
    assert executor_ray_env.pop("RAY_ADDRESS").startswith("ray://")
    for _ in range(RAY_CLIENT_START_TRIES):
        done = subprocess.run(
            [sys.executable, "-c", RUN_ACTION_THROUGH_CLIENT, address],
            cwd=REPO,
            env=shell_env(executor_ray_env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode == 0 or RAY_CLIENT_START_RACE not in done.stderr:
            break
    assert done.returncode == 0, done.stderr[-3000:]
    assert "https://example.com/runbook" in done.stdout
