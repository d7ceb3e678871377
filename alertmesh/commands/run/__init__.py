"""``alertmesh run FILE``: run one workflow file on the running stack and print its WorkflowResult JSON
(``workflow_file.py`` checks it, starts it and waits for it)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from alertmesh.commands.teardown import exit_without_teardown

NAME = "run"
HELP = "run one workflow file on the running stack, print its WorkflowResult JSON (exit 1 if failed)"
NEEDS_SETUP = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="the workflow definition (YAML)")
    parser.add_argument(
        "--trigger", default="{}", help="JSON object {inputs, alert, route}, or @file holding one (default: {})"
    )
    parser.add_argument("--vars", type=Path, help="workspace variables (YAML/JSON); default ORCHESTRATOR_VARS_FILE")
    parser.add_argument("--workflows", type=Path, help="where child workflows are (default: FILE's folder)")
    parser.add_argument("--timeout", type=float, help="seconds to wait for the result (default: until it ends)")


def run(args: argparse.Namespace) -> int:
    from alertmesh.commands.run.workflow_file import run_file

    code = asyncio.run(run_file(args.file, args.trigger, args.vars, args.workflows, args.timeout))
    return exit_without_teardown(code)
