"""``alertmesh rerun WORKFLOW_ID``: run a finished workflow again under the same id (``reset.py`` says how and
when Temporal allows it); uses the ``TEMPORAL_*`` settings."""

from __future__ import annotations

import argparse
import asyncio
import logging

from alertmesh.commands.teardown import exit_without_teardown

NAME = "rerun"
HELP = "run a finished workflow again under the same id (e.g. after the executor was down); uses TEMPORAL_*"
NEEDS_SETUP = True

log = logging.getLogger("alertmesh")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow_id", metavar="WORKFLOW_ID", help="the workflow id (the trigger's idempotency key)")
    parser.add_argument("--reason", default="rerun requested", help="recorded in the workflow's history")


def run(args: argparse.Namespace) -> int:
    return exit_without_teardown(asyncio.run(rerun(args.workflow_id, args.reason)))


async def rerun(workflow_id: str, reason: str) -> int:
    """Reset a finished run (see ``reset.rerun``); 0 when a new run started, 1 when refused or unreachable."""
    from alertmesh.commands.rerun.reset import RerunRefused
    from alertmesh.commands.rerun.reset import rerun as reset_run
    from services.shared.temporal import TemporalSettings

    settings = TemporalSettings()
    try:
        client = await settings.connect()
    except RuntimeError as error:  # the SDK reports every connection failure as RuntimeError
        log.error("cannot reach Temporal at %s (namespace %s): %s", settings.address, settings.namespace, error)
        return 1
    try:
        done = await reset_run(client, workflow_id, reason)
    except RerunRefused as refused:
        log.error("rerun refused: %s", refused)
        return 1
    print(
        f"rerun {done.workflow_id}: new run {done.run_id} (previous run {done.previous_run_id} {done.previous_status})"
    )
    return 0
