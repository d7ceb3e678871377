"""``alertmesh bench``: measure the mesh against the raw ceilings it stands on (``bench`` runs it)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from alertmesh.commands.teardown import exit_without_teardown

NAME = "bench"
HELP = "measure the mesh against the raw ceilings it stands on; writes BENCHMARKS.md and plots"
NEEDS_SETUP = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="small sizes, short phases (under 3 minutes)")
    parser.add_argument("--out", type=Path, help="where BENCHMARKS.md and the plots go (the repository root)")
    parser.add_argument("--state-dir", type=Path, help="default: a fresh temporary directory, removed after")


def run(args: argparse.Namespace) -> int:
    from bench import runner
    from bench.options import BenchOptions

    logging.getLogger("httpx").setLevel(logging.WARNING)
    out = {"out": args.out} if args.out is not None else {}
    options = BenchOptions(quick=args.quick, state_dir=args.state_dir, **out)
    # The run used Temporal clients: end without the interpreter's teardown (see exit_without_teardown).
    return exit_without_teardown(asyncio.run(runner.run(options)))
