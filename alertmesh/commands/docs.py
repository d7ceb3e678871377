"""``alertmesh docs [--check] [--out DIR]``: write the generated reference pages (``docs/reference/``: the ``FN.*``
functions, the actions and their arguments, every environment variable) from the code, or say whether they are
current."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "docs"
HELP = "write the generated reference pages (docs/reference/) from the code, or --check they are current"
NEEDS_SETUP = False  # it reads the code and writes files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is not what the code generates")
    parser.add_argument("--out", type=Path, metavar="DIR", help="default: docs/reference/ in the repository")


def run(args: argparse.Namespace) -> int:
    """Write every page (or check them), as ``alertmesh.reference.main`` does."""
    from alertmesh import reference

    return reference.main(args.check, args.out)
