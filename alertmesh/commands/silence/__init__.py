"""``alertmesh silence add|list|expire``: silences, written to and read from the silences topic directly through
``services.shared.silences.Silences`` (the store the webhook's Alertmanager API and ingest use): no webhook needed,
and the same rules as ``amtool`` gets (``actions.py`` does the work, ``view.py`` prints). Uses ``KAFKA_*`` and
``ALERTMESH_TOPIC_SILENCES``, or ``--bootstrap-servers``."""

from __future__ import annotations

import argparse

NAME = "silence"
HELP = "add, list and expire silences (Alertmanager's matchers); uses KAFKA_*"
NEEDS_SETUP = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="silence_command", required=True)
    add = actions.add_parser("add", help="silence the alerts MATCHER... select; prints the new silence's id")
    listing = actions.add_parser("list", help="id, state, matchers, start, end, author and comment of each silence")
    expire = actions.add_parser("expire", help="end silences now")
    for sub in (add, listing, expire):
        sub.add_argument("--bootstrap-servers", metavar="HOST:PORT", help="Kafka (default: KAFKA_BOOTSTRAP_SERVERS)")
    add.add_argument(
        "matchers", nargs="+", metavar="MATCHER",
        help="name=value, name!=value, name=~regex, name!~regex (quote values with spaces or commas; "
        "a bare word is an alertname, as with amtool)",
    )  # fmt: skip
    until = add.add_mutually_exclusive_group()
    until.add_argument("--duration", help="how long from its start: 90s, 15m, 2h, 1d, 1h30m (default 1h)")
    until.add_argument("--end", metavar="TIME", help="when it ends: an ISO 8601 time (UTC without a zone)")
    add.add_argument("--start", metavar="TIME", help="when it starts (default: now): an ISO 8601 time")
    add.add_argument("--comment", "-c", required=True, help="why (shown to everyone who lists silences)")
    add.add_argument("--author", "-a", help="who (default: your user name)")
    listing.add_argument("matchers", nargs="*", metavar="MATCHER", help="only silences these matchers match")
    listing.add_argument("--expired", action="store_true", help="the expired silences instead of the others")
    listing.add_argument("--json", action="store_true", help="a JSON array of Alertmanager's gettableSilence")
    expire.add_argument("ids", nargs="+", metavar="ID", help="the silences to end")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from alertmesh.commands.silence import actions

    return asyncio.run(actions.run(args))
