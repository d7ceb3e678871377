"""``alertmesh``: run the mesh (``up``, ``demo``), push an alert in (``publish``), read outcomes (``results``),
re-drive a finished workflow (``rerun``), run one workflow file (``run``), prove it survives faults (``chaos``),
measure it (``bench``), check workflow definitions (``validate``), show how a payload is routed (``route``), list
the actions workflows can use (``actions``), list and replay dead letters (``dlq``), show an alert's path
through the mesh (``trace``), see how a running mesh is doing (``status``), describe the topics (``asyncapi``),
regenerate the event schemas (``schemas``) and the reference pages (``docs``), make webhook API keys
(``webhook-key``)."""

from __future__ import annotations

import argparse
import logging
import sys

from alertmesh.commands import (
    Command,
    actions,
    asyncapi,
    bench,
    chaos,
    demo,
    dlq,
    docs,
    publish,
    rerun,
    results,
    route,
    run,
    schemas,
    silence,
    status,
    trace,
    up,
    validate,
    webhook_key,
)

#: Every command, in the order ``alertmesh --help`` lists them. Each module's top-level imports are light; what a
#: command runs is imported by its ``run``, so ``validate`` never loads the Kafka, Temporal or Ray clients.
COMMANDS: tuple[Command, ...] = (
    up,
    demo,
    publish,
    results,
    rerun,
    run,
    actions,
    validate,
    route,
    status,
    dlq,
    silence,
    chaos,
    asyncapi,
    trace,
    bench,
    schemas,
    docs,
    webhook_key,
)
BY_NAME: dict[str, Command] = {command.NAME: command for command in COMMANDS}


def parser() -> argparse.ArgumentParser:
    """The whole command line: one subparser per command of ``COMMANDS``."""
    root = argparse.ArgumentParser(prog="alertmesh", description=__doc__)
    subparsers = root.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_arguments(subparsers.add_parser(command.NAME, help=command.HELP))
    return root


def _configure_logging() -> int:
    """The command's own lines: short text (``name | message``, like ``up``'s parts), or with
    ALERTMESH_LOG_FORMAT=json the services' JSON lines. 2 (after saying why) for an unknown format."""
    from services.shared import logs

    try:
        fmt = logs.log_format()
    except logs.LogFormatError as error:
        print(f"alertmesh: {error}", file=sys.stderr)
        return 2
    if fmt == "json":
        logs.configure("alertmesh")
    else:
        logging.basicConfig(level=logging.INFO, format="%(name)-13s| %(message)s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names; its exit code (2 for an unusable log format, 130 after Ctrl-C)."""
    args = parser().parse_args(argv)
    command = BY_NAME[args.command]
    if not command.NEEDS_SETUP:
        return command.run(args)
    if _configure_logging() != 0:
        return 2
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    try:
        return command.run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
