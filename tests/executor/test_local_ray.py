"""A local Ray started by the executor listens on the loopback interface only."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.executor.__main__ import _on_loopback

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh process (the test session's own Ray is already initialized): start Ray as the executor does,
# run one task so a worker process exists, then list every listening TCP socket of this process tree.
LIST_LISTENERS = """
import json, psutil, ray
from services.executor.__main__ import start_ray
from services.executor.config import ExecutorSettings
start_ray(ExecutorSettings(ray_num_cpus=1, ray_log_to_driver=False))
ray.get(ray.remote(lambda: 1).remote())
me = psutil.Process()
listeners = []
for process in [me, *me.children(recursive=True)]:
    try:
        for conn in process.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN:
                listeners.append([process.name(), conn.laddr.ip, conn.laddr.port])
    except psutil.NoSuchProcess:
        pass
ray.shutdown()
print(json.dumps(listeners))
"""


def is_loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_local_ray_listens_on_loopback_only() -> None:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", LIST_LISTENERS], cwd=REPO, env=env, capture_output=True, text=True, timeout=110
    )
    assert done.returncode == 0, done.stderr[-2000:]
    listeners = json.loads(done.stdout.strip().splitlines()[-1])
    names = {name for name, _, _ in listeners}
    assert {"gcs_server", "raylet"} <= names, listeners  # the check saw Ray's servers
    assert [entry for entry in listeners if not is_loopback(entry[1])] == []


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        (None, True),
        ("127.0.0.1:6379", True),
        ("localhost:6379", True),
        ("[::1]:6379", True),
        ("10.0.0.5:6379", False),
        ("ray-head:6379", False),
        ("ray://127.0.0.1:10001", False),  # Ray Client: no local node address involved
        ("auto", False),
    ],
)
def test_loopback_mode_for_local_and_loopback_clusters_only(address: str | None, loopback: bool) -> None:
    assert _on_loopback(address) is loopback
