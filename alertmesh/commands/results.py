"""``alertmesh results``: print WorkflowResult events, a table on a terminal, JSON lines when piped or with
``--json``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys

NAME = "results"
HELP = "print WorkflowResult events: a table on a terminal, JSON lines when piped or with --json"
NEEDS_SETUP = True

log = logging.getLogger("alertmesh")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--follow", action="store_true", help="keep waiting for new results")
    parser.add_argument("--count", type=int, help="stop after this many results")
    parser.add_argument("--timeout", type=float, help="give up after this many seconds (exit code 1)")
    parser.add_argument("--topic", help="default: the results topic (alertmesh.results)")
    parser.add_argument(
        "--resolve", action="store_true", help='replace {"$stored": ...} results with their JSON (EXECUTOR_BLOB_*)'
    )
    parser.add_argument("--json", action="store_true", help="JSON lines (the result events) even on a terminal")


def run(args: argparse.Namespace) -> int:
    as_json = True if args.json else None
    return asyncio.run(print_results(args.topic, args.follow, args.count, args.timeout, args.resolve, as_json))


async def print_results(
    topic: str | None,
    follow: bool,
    count: int | None,
    timeout_s: float | None,
    resolve: bool = False,
    as_json: bool | None = None,
) -> int:
    """Print results: JSON lines (the events as on the topic) when piped or ``as_json``, else a table."""
    from alertmesh import kafka_tools
    from alertmesh.views import results as results_view
    from services.shared.blobs import BlobError, BlobSettings, resolve_json
    from services.shared.kafka import KafkaSettings
    from services.shared.topics import TopicSettings

    topic, seen = topic or TopicSettings().results, 0
    store = BlobSettings().store() if resolve else None
    table = not (as_json if as_json is not None else not sys.stdout.isatty())
    width = shutil.get_terminal_size().columns
    if table:
        sys.stdout.write(results_view.header(width) + "\n")
    try:
        async for value in kafka_tools.read(KafkaSettings(), topic, follow=follow, timeout_s=timeout_s):
            if store is not None:
                try:
                    value = resolve_json(value, store)
                except BlobError as error:  # printed as it is: the event is still worth seeing
                    log.warning("could not resolve a stored result: %s", error)
            if table:
                sys.stdout.write("".join(line + "\n" for line in results_view.lines(value, width)))
            else:
                sys.stdout.write(value.decode() + "\n")
            sys.stdout.flush()
            seen += 1
            if count is not None and seen >= count:
                return 0
    except TimeoutError:
        return 1
    return 0 if count is None or seen >= count else 1
