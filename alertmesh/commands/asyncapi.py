"""``alertmesh asyncapi [--check] [--output FILE]``: write the AsyncAPI document of every topic, or say whether
the checked-in one is current (``alertmesh.asyncapi`` generates and checks it)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "asyncapi"
HELP = "write the AsyncAPI 3.0 document of every topic (asyncapi.yaml), or --check it is current"
NEEDS_SETUP = False  # it reads the code and writes one file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not what the code generates")
    parser.add_argument("--output", type=Path, metavar="FILE", help="default: asyncapi.yaml at the repository root")


def run(args: argparse.Namespace) -> int:
    from alertmesh.asyncapi import command

    return command.main(args.check, args.output)
