"""``alertmesh validate FILE_OR_DIR...``: check workflow definitions without any server.

Every problem is printed as ``file:line:col: message`` (on stdout, in file then line order); a clean set prints
``ok: N workflows``. The files and folders given are checked together, as the orchestrator checks its folder:
the workflow names they use (``error_handler``, ``core.workflow.execute``) must be among them, except when a single
file is given (the folder it will run from is not known then). Exit 0 when valid, 1 on any problem, 2 when an
input cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

NAME = "validate"
HELP = "check workflow files (and folders of them) together; print file:line:col: problem"
NEEDS_SETUP = False  # it only reads files: no logging set-up, no event loop


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="FILE", help="workflow YAML files or folders")


def run(args: argparse.Namespace) -> int:
    return validate(args.paths)


def validate(inputs: Sequence[Path], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Check ``inputs`` (files, and folders of ``*.yaml``/``*.yml``) together; the exit code."""
    # Imported here: the command table loads this module for every command's --help.
    from dsl.files import count_problems
    from dsl.loader import UnreadableInput, check_files, workflow_files
    from services.executor.catalog import action_catalog

    try:
        files = [path for given in inputs for path in (workflow_files(given) if given.is_dir() else [given])]
        closed = len(inputs) > 1 or any(given.is_dir() for given in inputs)
        report = check_files(files, closed=closed, catalog=action_catalog)
    except UnreadableInput as error:
        for line in error.lines:
            print(line, file=err)
        return 2
    for line in report.lines:
        print(line, file=out)
    if report.lines:
        print(f"{count_problems(len(report.lines))} in {len(files)} file{'s' if len(files) != 1 else ''}", file=err)
        return 1
    print(f"ok: {len(report.definitions)} workflow{'s' if len(report.definitions) != 1 else ''}", file=out)
    return 0
