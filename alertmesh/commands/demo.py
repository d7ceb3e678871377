"""``alertmesh demo``: start the mesh, push the demo alert through, print its result, stop."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from alertmesh.commands.mesh_options import add_mesh_options, mesh_settings
from alertmesh.samples import DEMO_ALERT

NAME = "demo"
HELP = "start the mesh, push the demo alert through, print its result, stop"
NEEDS_SETUP = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_mesh_options(parser)  # --state-dir defaults to a fresh temporary directory here
    parser.add_argument("--alert", type=Path, default=DEMO_ALERT, help="payload to push (the Alertmanager sample)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for the result")


def run(args: argparse.Namespace) -> int:
    """The demo starts from a clean slate unless told otherwise: a fresh Temporal state, so the demo alert is
    new to it (a kept state would rightly treat it as already handled and start nothing)."""
    from alertmesh.commands.up.foreground import demo

    alert = args.alert.read_bytes()
    if args.state_dir is not None:
        return asyncio.run(demo(mesh_settings(args), alert, args.timeout))
    with tempfile.TemporaryDirectory(prefix="alertmesh-demo-") as state_dir:
        args.state_dir = Path(state_dir)
        return asyncio.run(demo(mesh_settings(args), alert, args.timeout))
