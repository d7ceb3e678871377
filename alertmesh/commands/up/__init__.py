"""``alertmesh up``: run the whole mesh in the foreground until Ctrl-C (``foreground.py`` starts and stops it)."""

from __future__ import annotations

import argparse
import asyncio

from alertmesh.commands.mesh_options import add_mesh_options, mesh_settings

NAME = "up"
HELP = "run the whole mesh in the foreground until Ctrl-C"
NEEDS_SETUP = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_mesh_options(parser)


def run(args: argparse.Namespace) -> int:
    from alertmesh.commands.up import foreground

    return asyncio.run(foreground.up(mesh_settings(args)))
