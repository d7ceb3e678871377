"""``alertmesh status``: health, restarts, rates, lag, workflows and recent failures of a running mesh
(``alertmesh.status`` reads and renders them)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from alertmesh.commands.mesh_options import mesh_settings
from alertmesh.commands.teardown import exit_without_teardown

NAME = "status"
HELP = "health, restarts, rates, lag, workflows, recent failures"
NEEDS_SETUP = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--watch", action="store_true", help="refresh until Ctrl-C (in place on a terminal)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between readings (rates span it)")
    parser.add_argument("--json", action="store_true", help="one JSON object per report")
    parser.add_argument("--state-dir", type=Path, help="where `alertmesh up` keeps mesh.json (.alertmesh/)")
    for name, path in (("health", "/healthz"), ("metrics", "/metrics")):
        parser.add_argument(
            f"--{name}", action="append", default=[], metavar="NAME=URL",
            help=f"a part's {path} URL, for a mesh not started by `alertmesh up` (repeat)",
        )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from alertmesh.status import report

    if args.interval <= 0:
        print("alertmesh status: --interval must be more than 0 seconds", file=sys.stderr)
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # an unreachable broker is shown in the report
    state_dir = args.state_dir if args.state_dir is not None else mesh_settings(args).state_dir
    where = report.Where(state_dir, tuple(args.health), tuple(args.metrics))
    code = report.main(where, watch=args.watch, interval_s=args.interval, as_json=args.json)
    return exit_without_teardown(code)  # it used a Temporal client
