"""A local Ray cluster started with Ray's own CLI (``alertmesh up --ray-nodes N``): ``ray start --head --block``,
then ``ray start --address=... --block`` for each further node, each a supervised part, so every executor
replica joins one cluster (``RAY_ADDRESS``) instead of starting Ray in-process.

``--block`` keeps each ``ray start`` in the foreground as the leader of its node's processes (GCS, raylet,
workers): the supervisor's process group holds the whole node, so a crash, a restart and ``up``'s teardown end
exactly this node's processes, never anyone else's (no ``ray stop``: that stops every Ray of this user on the
machine, tests and other meshes included). With ``--block``, Ray's CLI exits as soon as one of its node's
processes dies, so a half-dead node is restarted as a whole.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from alertmesh.stack.embedded import free_port

#: The object store of each node (Ray's default is 30% of the machine's memory per node, in /dev/shm); actions'
#: arguments and results are small, and two nodes on one machine must not claim 60% of it.
OBJECT_STORE_BYTES = 200_000_000
#: The head's GCS is up within seconds; a loaded machine takes longer.
NODE_READY_TIMEOUT_S = 90.0


def ray_binary() -> str:
    """The ``ray`` CLI beside this interpreter (the same Ray as the executor's), else PATH."""
    beside = Path(sys.executable).parent / "ray"
    found = str(beside) if beside.exists() else shutil.which("ray")
    if not found:
        raise FileNotFoundError("ray CLI not found: pip install 'alertmesh[executor]'")
    return found


@dataclass(frozen=True)
class RayNode:
    """One node of the local cluster: its part name, the ports it was given and its ``ray start`` line."""

    name: str
    #: The raylet's port: open once the node is up (its readiness probe).
    node_manager_port: int
    command: list[str]


def node_ports() -> list[str]:
    """A port of its own for every listener a node would otherwise put on a fixed default (the dashboard agent's
    52365, the runtime-env agent's, metrics): two nodes on one machine, and other Ray users on it, collide
    there."""
    return [
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--metrics-export-port={free_port()}",
    ]


def cluster_nodes(host: str, gcs_port: int, nodes: int, num_cpus: int, temp_dir: Path) -> list[RayNode]:
    """The head (GCS at ``host:gcs_port``) and ``nodes - 1`` worker nodes, each with ``num_cpus`` CPUs, the same
    temp dir (each node keeps its own session files in it) and usage stats off."""
    ray = ray_binary()
    common = [
        "--block",
        f"--num-cpus={num_cpus}",
        f"--object-store-memory={OBJECT_STORE_BYTES}",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
    ]
    result = []
    for index in range(1, nodes + 1):
        ports = node_ports()
        manager = int(ports[0].split("=")[1])
        if index == 1:
            # The dashboard is off, but its head process still binds 8265 unless told otherwise.
            where = ["--head", f"--port={gcs_port}", "--include-dashboard=false", f"--dashboard-port={free_port()}"]
            name = "ray-head"
        else:
            where = [f"--address={host}:{gcs_port}"]
            name = f"ray-node-{index}"
        result.append(RayNode(name, manager, [ray, "start", *where, *common, *ports]))
    return result
