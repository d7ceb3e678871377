"""``alertmesh dlq list|replay``: list the dead letters and send their originals again after a fix
(``letters.py`` reads, selects, shows and replays them); uses the ``KAFKA_*`` settings."""

from __future__ import annotations

import argparse
import asyncio
import sys

NAME = "dlq"
HELP = "list dead letters, replay them after a fix; uses KAFKA_*"
NEEDS_SETUP = True

#: Dead-letter stages (``schemas.deadletter.STAGES``), spelled out so the command line loads no schema module.
DLQ_STAGES = ("parse", "validate", "route", "noise", "start", "publish")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="dlq_command", required=True)
    listing = actions.add_parser("list", help="a table on a terminal, JSON lines when piped or with --json")
    replay = actions.add_parser(
        "replay", help="send the originals again (acks=all) to their topic (alerts in, routed, or triggers) or --to"
    )
    for sub in (listing, replay):
        sub.add_argument("--since", help="only those received since: a duration (15m, 2h, 1d) or an ISO 8601 time")
        sub.add_argument("--stage", choices=DLQ_STAGES, help="only those that failed at this stage")
    listing.add_argument("--json", action="store_true", help="JSON lines (the dead letter events) even on a terminal")
    listing.add_argument("--limit", type=_positive, metavar="N", help="stop after N dead letters (oldest first)")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", action="append", metavar="ID", help="a dead letter id or a unique prefix (repeatable)")
    which.add_argument("--all", action="store_true", help="every dead letter --since/--stage select")
    replay.add_argument(
        "--to", metavar="TOPIC", help="default: the topic each original was read from, if the mesh reads it"
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from alertmesh.commands.dlq import letters
    from services.shared.kafka import KafkaSettings
    from services.shared.topics import TopicSettings

    try:
        since = letters.parse_since(args.since, datetime.now(UTC)) if args.since else None
        selection = letters.Selection(stage=args.stage, since=since, ids=tuple(getattr(args, "id", None) or ()))
        kafka, topics = KafkaSettings(), TopicSettings()
        if args.dlq_command == "list":
            as_json = True if args.json else None
            return asyncio.run(letters.list_letters(kafka, topics.dlq, selection, as_json=as_json, limit=args.limit))
        # Without --to, only the topics the mesh reads: what a dead letter says it came from is data.
        replayable = (topics.raw, topics.routed, topics.triggers)
        return asyncio.run(letters.replay_letters(kafka, topics.dlq, selection, to=args.to, replayable=replayable))
    except letters.SelectionError as error:
        print(f"alertmesh dlq: {error}", file=sys.stderr)
        return 2
