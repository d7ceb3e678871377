"""The embedded mesh's flags, shared by ``alertmesh up`` and ``alertmesh demo`` (and the state directory
``alertmesh status`` falls back to)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alertmesh.stack.mesh import MeshSettings

#: The flags, each the ``MeshSettings`` field of the same name.
_NAMES = ("state_dir", "kafka_port", "temporal_port", "temporal_ui_port", "webhook_port")


def add_mesh_options(parser: argparse.ArgumentParser) -> None:
    """``--state-dir`` and the embedded servers' ports."""
    parser.add_argument("--state-dir", type=Path, help="where Temporal keeps its SQLite state (.alertmesh/)")
    parser.add_argument("--kafka-port", type=int, help="embedded broker port (9092)")
    parser.add_argument("--temporal-port", type=int, help="embedded Temporal port (7233)")
    parser.add_argument("--temporal-ui-port", type=int, help="embedded Temporal UI port (8233)")
    parser.add_argument("--webhook-port", type=int, help="webhook bridge port (8080)")


def mesh_settings(args: argparse.Namespace) -> MeshSettings:
    """``MeshSettings`` from the environment, with the flags given on the command line over it."""
    from alertmesh.stack.mesh import MeshSettings

    return MeshSettings(**{n: getattr(args, n) for n in _NAMES if getattr(args, n, None) is not None})
