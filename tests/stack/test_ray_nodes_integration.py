"""``--ray-nodes 2`` for real: Ray's CLI starts a head and a worker node under the supervisor, a client needs the
token to join, tasks run on both nodes, a SIGKILLed worker node is started again, and the teardown ends exactly
this cluster's processes (by their process groups, never ``ray stop``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from alertmesh.stack.mesh import MeshSettings, plan, prepare_private_dirs, ray_cluster_dir
from alertmesh.stack.supervisor import Supervisor

pytestmark = pytest.mark.integration

#: A node counts as ready once its raylet listens; it registers with the head a moment later.
TWO_NODES = """
import os, time, ray
ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False)
deadline = time.monotonic() + 30
while sum(node["Alive"] for node in ray.nodes()) < 2 and time.monotonic() < deadline:
    time.sleep(0.2)
@ray.remote(num_cpus=1)
def where() -> str:
    import time
    time.sleep(1)
    return ray.get_runtime_context().get_node_id()
print(sum(node["Alive"] for node in ray.nodes()), len({n for n in ray.get([where.remote() for _ in range(4)])}))
"""


@pytest.fixture
def short_dir() -> Iterator[Path]:
    made = Path(tempfile.mkdtemp(prefix="am-", dir="/tmp"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def cluster_processes(temp_dir: Path) -> list[int]:
    """Processes whose command line names the cluster's temp dir (GCS, raylets, Ray's agents)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if str(temp_dir) in " ".join(process.info["cmdline"] or ()):
            found.append(process.info["pid"])
    return found


def client(env: dict[str, str], drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    own = {k: v for k, v in {**os.environ, **env}.items() if k not in drop}
    return subprocess.run([sys.executable, "-c", TWO_NODES], env=own, capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(300)
def test_a_two_node_cluster_runs_tasks_on_both_and_leaves_nothing_behind(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    settings = MeshSettings(state_dir=short_dir / "s", ray_nodes=2)
    prepare_private_dirs(settings)
    mesh = plan(settings)
    executor_env = {k: v for k, v in mesh.services[-1].env.items() if k.startswith("RAY_")}
    temp_dir = ray_cluster_dir(settings)

    async def scenario() -> None:
        supervisor = Supervisor(output=lambda name, line: None)
        try:
            for stage in mesh.ray_stages:
                await supervisor.start_stage(stage)
            joined = await asyncio.to_thread(client, executor_env)
            assert joined.returncode == 0, joined.stderr[-3000:]
            assert joined.stdout.split() == ["2", "2"], "two nodes, and the tasks ran on both"
            # Without the token the cluster refuses the client.
            refused = await asyncio.to_thread(client, executor_env, ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH"))
            assert refused.returncode != 0 and "uthentication" in refused.stderr, refused.stderr[-2000:]
            # Ray makes its temp and session directories 0777 whatever the umask, again whenever a node or a client
            # joins; Ray's temp root around them (and the state dir) stay 0700, so no other user reaches them.
            for directory in (temp_dir.parent, settings.state_dir):
                assert directory.stat().st_mode & 0o077 == 0, oct(directory.stat().st_mode)
            worker = supervisor.children[-1]
            old = worker.pid
            assert old is not None
            os.killpg(old, signal.SIGKILL)  # the node with everything it started
            deadline = time.monotonic() + 90
            while not (worker.pid != old and worker.running and await worker.part.ready()):
                assert time.monotonic() < deadline, "the worker node was not started again"
                await asyncio.sleep(0.5)
            assert worker.restarts == 1
            # Ray's agents on the restarted node go on making 0777 directories after it is up (runtime_resources/...),
            # so what keeps them private is Ray's temp root, which Ray never touches.
            assert temp_dir.parent.stat().st_mode & 0o077 == 0
            assert not psutil.pid_exists(old) or psutil.Process(old).status() == psutil.STATUS_ZOMBIE
        finally:
            await supervisor.stop()

    asyncio.run(scenario())
    deadline = time.monotonic() + 20
    while (left := cluster_processes(temp_dir)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, [psutil.Process(pid).cmdline() for pid in left if psutil.pid_exists(pid)]
