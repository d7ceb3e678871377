"""Every ``alertmesh`` command, one module (or package) each; ``alertmesh.cli`` is the table that registers them.

A command module has the ``Command`` shape below. Its top-level imports stay light (the standard library, other
command helpers): ``alertmesh --help`` builds every command's parser, and ``alertmesh validate`` must not pay for
the Kafka, Temporal and Ray clients, so whatever a command runs is imported inside its ``run``. A command whose
logic needs those clients keeps that logic in a module of its own package (``dlq/letters.py``,
``rerun/reset.py``, ``run/workflow_file.py``, ``up/foreground.py``).

``mesh_options`` (the embedded mesh's flags) and ``teardown`` (leaving a process that used a Temporal client) are
shared by several commands.
"""

from __future__ import annotations

import argparse
from typing import Protocol


class Command(Protocol):
    """What ``alertmesh.cli`` needs of a command module."""

    #: The subcommand's name on the command line.
    NAME: str
    #: One line for ``alertmesh --help``.
    HELP: str
    #: True: ``alertmesh.cli`` sets up logging (``ALERTMESH_LOG_FORMAT``) first and turns Ctrl-C into exit 130.
    #: Commands that only read files and print leave it False: nothing to configure, and no start-up cost.
    NEEDS_SETUP: bool

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's flags and arguments to its subparser."""

    def run(self, args: argparse.Namespace) -> int:
        """Do the command; the process's exit code."""
