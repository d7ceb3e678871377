"""``alertmesh validate FILE_OR_DIR...``: check workflow definitions, field-map and routing files without any server.

A file whose top level is ``sources:`` (and no ``actions:``) is a field-map file (``INGEST_FIELD_MAPS_FILE``), one
whose top level has ``routes:`` (and no ``actions:``) a routing file (``INGEST_ROUTING_FILE``: rules, time
intervals, inhibition rules, thresholds); each is checked as ingest checks it at start (paths, expressions, shapes,
formats, references); every other file is a workflow. Every problem is printed as ``file:line:col: message`` (on
stdout, in file then line order); a clean set prints ``ok: N workflows`` (and ``, M field-map files``, ``, K routing
files`` when there were some). The files and folders given are checked
together, as the orchestrator checks its folder: the workflow names they use (``error_handler``,
``core.workflow.execute``) must be among them, except when a single file is given (the folder it will run from is
not known then). Exit 0 when valid, 1 on any problem, 2 when an
input cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

NAME = "validate"
HELP = "check workflow, field-map and routing files (and folders of them) together; print file:line:col: problem"
NEEDS_SETUP = False  # it only reads files: no logging set-up, no event loop


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="FILE", help="workflow, field-map or routing YAML files, or folders"
    )


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
        kinds = {path: _kind(path) for path in files}
        maps = [path for path in files if kinds[path] == "field-map"]
        routing = [path for path in files if kinds[path] == "routing"]
        workflows = [path for path in files if kinds[path] == "workflow"]
        closed = len(inputs) > 1 or any(given.is_dir() for given in inputs)
        others = maps or routing
        report = check_files(workflows, closed=closed, catalog=action_catalog) if workflows or not others else None
    except UnreadableInput as error:
        for line in error.lines:
            print(line, file=err)
        return 2
    lines = [
        *(report.lines if report else []),
        *(line for path in maps for line in _field_map_problems(path)),
        *(line for path in routing for line in _routing_problems(path)),
    ]
    for line in lines:
        print(line, file=out)
    if lines:
        print(f"{count_problems(len(lines))} in {len(files)} file{'s' if len(files) != 1 else ''}", file=err)
        return 1
    count = len(report.definitions) if report else 0
    checked = [f"{count} workflow{'s' if count != 1 else ''}"] if report else []
    checked += [f"{len(maps)} field-map file{'s' if len(maps) != 1 else ''}"] if maps else []
    checked += [f"{len(routing)} routing file{'s' if len(routing) != 1 else ''}"] if routing else []
    print(f"ok: {', '.join(checked)}", file=out)
    return 0


def _kind(path: Path) -> str:
    """``field-map`` (top-level ``sources``, no ``actions``), ``routing`` (top-level ``routes``, no ``actions``) or
    ``workflow``; a file that cannot be read or parsed is left to the workflow checker, which says why."""
    from dsl.positions import YamlSyntaxError, parse_yaml

    try:
        document = parse_yaml(path.read_text(encoding="utf-8")).document
    except (OSError, UnicodeDecodeError, YamlSyntaxError):
        return "workflow"
    if not isinstance(document, dict) or "actions" in document:
        return "workflow"
    if "sources" in document:
        return "field-map"
    return "routing" if "routes" in document else "workflow"


def _routing_problems(path: Path) -> list[str]:
    from services.ingest.routing import RoutingFileError, load_routing

    try:
        load_routing(path)
    except RoutingFileError as error:
        return error.problems
    return []


def _field_map_problems(path: Path) -> list[str]:
    from services.ingest.parsers.field_maps import FieldMapFileError, load_field_maps

    try:
        load_field_maps(path)
    except FieldMapFileError as error:
        return error.problems
    return []
