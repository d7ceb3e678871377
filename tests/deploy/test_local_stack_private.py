"""``alertmesh up`` on a shared machine, for real: the embedded mesh started as ``up`` starts it (the servers, the
four services, local Ray), then what another local user could get at.

Checked: the state dir is 0700 and nothing in it is open to the group or others (Temporal's database, the keys,
spans, Ray's session files); Ray's temp dir is inside the state dir, not the shared ``/tmp/ray``; and local Ray
refuses a client without the token (none, or a wrong one) while the executor's token gets in.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertmesh.stack.local import StateDir, local_settings, running_local_stack
from alertmesh.stack.mesh import RAY_TOKEN_FILE_NAME, MeshSettings
from services.ingest.defaults import ROUTING_FILE
from services.orchestrator.defaults import WORKFLOWS_DIR

pytestmark = pytest.mark.integration
#: A Ray client that connects, runs one task and says so.
CLIENT = (
    "import sys, ray\n"
    "from ray._private import ray_constants\n"
    "ray_constants.ENABLE_RAY_CLUSTER = False  # the executor's local Ray listens on loopback only\n"
    "ray.init(address=sys.argv[1], log_to_driver=False)\n"
    "print('CONNECTED', ray.get(ray.remote(lambda: 41 + 1).remote()))\n"
)


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # Short, as a real state dir is (`.alertmesh` in a project): Ray's sockets must fit in 107 bytes.
    parent = Path(tempfile.mkdtemp(prefix="am-up-", dir="/tmp"))
    try:
        yield parent / "state"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def settings_for(state_dir: Path) -> MeshSettings:
    settings = local_settings(StateDir(state_dir))
    return settings.model_copy(update={"routing_file": ROUTING_FILE, "workflows_dir": WORKFLOWS_DIR})


def gcs_address(ray_root: Path) -> str:
    """The GCS address of the Ray the executor started: the port file of its session, in its own temp dir (its
    command line says port 0, Ray picks one); local Ray listens on loopback only."""
    [port_file] = (ray_root / "ray" / "session_latest").glob("gcs_server_port_*")
    return f"127.0.0.1:{int(port_file.read_text())}"


def open_to_others(root: Path) -> list[str]:
    """Everything under ``root`` (itself included) that the group or others may use, symlinks aside."""
    found = []
    for path in [root, *root.rglob("*")]:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
            found.append(f"{path.relative_to(root)} {stat.S_IMODE(info.st_mode):o}")
    return found


async def connect(address: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A Ray client in a process of its own, as another local user would run one (no token of ours in its home)."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("RAY_")}
    clean |= {"HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0", **env}
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", CLIENT, address], env=clean, capture_output=True, text=True, timeout=90
    )


async def test_up_keeps_its_state_and_ray_private_and_ray_refuses_clients_without_the_token(
    state_dir: Path, tmp_path: Path
) -> None:
    settings = settings_for(state_dir)
    async with running_local_stack(settings, tmp_path / "mesh.log") as stack:
        executor = stack.child("executor")
        assert executor.pid is not None
        ray_root = Path(executor.part.env["RAY_TMPDIR"])
        assert ray_root == state_dir.resolve() / "ray"
        assert (ray_root / "ray" / "session_latest").exists(), "Ray's session is not in the state dir"
        assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
        assert not open_to_others(state_dir), open_to_others(state_dir)
        token = state_dir / RAY_TOKEN_FILE_NAME
        assert stat.S_IMODE(token.stat().st_mode) == 0o600
        address = gcs_address(ray_root)
        home = tmp_path / "home"
        home.mkdir()
        refused = await asyncio.gather(
            connect(address, home),
            connect(address, home, RAY_AUTH_MODE="disabled"),
            connect(address, home, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="0" * 64),
        )
        admitted = await connect(address, home, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    for attempt in refused:
        assert attempt.returncode != 0 and "CONNECTED" not in attempt.stdout, attempt.stdout + attempt.stderr[-2000:]
    # The same client with the token gets in: the refusals above are the token's doing, not a broken client.
    assert "CONNECTED 42" in admitted.stdout, admitted.stderr[-3000:]
