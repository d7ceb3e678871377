"""``alertmesh schemas [--check]``: write the checked-in JSON Schema files (``schemas/json/``, one per event
type) from the event models, or say whether they are current."""

from __future__ import annotations

import argparse
import sys

from alertmesh.checkout import is_checkout

NAME = "schemas"
HELP = "write the JSON Schema file of every event type (schemas/json/), or --check they are current"
NEEDS_SETUP = False  # it reads the code and writes files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is not what the code generates")


def run(args: argparse.Namespace) -> int:
    """Write every event type's schema file, or with ``--check`` name each stale or missing one (exit 1)."""
    from schemas import EVENTS
    from schemas.jsonschema import DIRECTORY, path_for, render

    if args.check:
        stale = [path_for(t) for t in EVENTS if not path_for(t).is_file() or path_for(t).read_bytes() != render(t)]
        for path in stale:
            print(f"alertmesh schemas: {path} is stale: run `alertmesh schemas` and commit it", file=sys.stderr)
        if not stale:
            print(f"{DIRECTORY} is current")
        return 1 if stale else 0
    if not is_checkout():  # the files are the installed package's own data: never rewrite them in site-packages
        print("alertmesh schemas: it rewrites a checkout's schemas/json/; run it from a checkout, or use --check",
              file=sys.stderr)  # fmt: skip
        return 2
    DIRECTORY.mkdir(exist_ok=True)
    for event_type in EVENTS:
        path_for(event_type).write_bytes(render(event_type))
        print(f"wrote {path_for(event_type)}")
    return 0
