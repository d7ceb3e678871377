"""The embedded mesh's flags, shared by ``alertmesh up`` and ``alertmesh demo`` (and the state directory
``alertmesh status`` falls back to)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from alertmesh.stack.replicas import MAX_RAY_NODES, MAX_REPLICAS, SERVICES, ReplicasError, parse_replicas

if TYPE_CHECKING:
    from alertmesh.stack.mesh import MeshSettings

#: The flags, each the ``MeshSettings`` field of the same name.
_NAMES = ("state_dir", "kafka_port", "temporal_port", "temporal_ui_port", "webhook_port", "replicas", "ray_nodes",
          "ray_node_cpus")  # fmt: skip


def _replicas(text: str) -> dict[str, int]:
    """``--replicas``'s value, or argparse's own error with the reason (it exits 2 before anything starts)."""
    try:
        return parse_replicas(text)
    except ReplicasError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _ray_nodes(text: str) -> int:
    try:
        nodes = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= nodes <= MAX_RAY_NODES:
        raise argparse.ArgumentTypeError(f"{nodes}: from 1 to {MAX_RAY_NODES} Ray nodes on one machine")
    return nodes


def _cpus(text: str) -> int:
    try:
        cpus = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= cpus <= 64:
        raise argparse.ArgumentTypeError(f"{cpus}: from 1 to 64 CPUs per Ray node")
    return cpus


def add_mesh_options(parser: argparse.ArgumentParser) -> None:
    """``--state-dir`` and the embedded servers' ports."""
    parser.add_argument("--state-dir", type=Path, help="where Temporal keeps its SQLite state (.alertmesh/)")
    parser.add_argument("--kafka-port", type=int, help="embedded broker port (9092)")
    parser.add_argument("--temporal-port", type=int, help="embedded Temporal port (7233)")
    parser.add_argument("--temporal-ui-port", type=int, help="embedded Temporal UI port (8233)")
    parser.add_argument("--webhook-port", type=int, help="webhook bridge port (8080)")
    parser.add_argument(
        "--replicas", type=_replicas, metavar="SERVICE=N[,...]",
        help=f"processes per service, e.g. ingest=2,orchestrator=2,executor=2 (services: {', '.join(SERVICES)}; "
        f"1 each by default, at most {MAX_REPLICAS})",
    )  # fmt: skip
    parser.add_argument(
        "--ray-nodes", type=_ray_nodes, metavar="N",
        help="start a local Ray cluster of N nodes with `ray start` (a head and N-1 worker nodes) for every "
        "executor to join, instead of Ray inside each executor",
    )  # fmt: skip
    parser.add_argument("--ray-node-cpus", type=_cpus, metavar="N", help="CPUs each Ray node offers (1)")


def mesh_settings(args: argparse.Namespace) -> MeshSettings:
    """``MeshSettings`` from the environment, with the flags given on the command line over it."""
    from alertmesh.stack.mesh import MeshSettings

    return MeshSettings(**{n: getattr(args, n) for n in _NAMES if getattr(args, n, None) is not None})
