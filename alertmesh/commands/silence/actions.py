"""What ``alertmesh silence`` does: read the silences topic to its end, then add, list or expire through
``Silences`` (Alertmanager's validation and expiry rules). Problems are one line on stderr and exit 1 (2 for a
command line that cannot be read)."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from alertmesh.commands.silence.view import json_text, table
from schemas.silence import Matcher
from services.shared.backoff import Backoff, GaveUp
from services.shared.kafka import KafkaSettings
from services.shared.matchers import MatcherError, parse_matchers
from services.shared.silences import SilenceError, SilenceNotFound, Silences
from services.shared.topics import TopicSettings
from services.webhook.alertmanager.filters import filter_matches, silence_labels

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: How long to wait for the topic to be read to its end (a partial read could miss or mis-update a silence).
READ_S = 30.0
#: A silence without --duration or --end lasts this long (amtool's default).
DEFAULT_DURATION = "1h"
#: How long to keep trying to reach Kafka before saying it cannot be reached.
REACH = Backoff(initial_s=0.2, max_s=2.0, budget_s=15.0)
#: An operator's bare word (no operator) is an alert name, as amtool reads it.
_BARE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


class UsageError(ValueError):
    """A command line that cannot be read (exit 2)."""


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d``, ``1w``, ``1h30m``: more than nothing."""
    value = text.strip()
    if not value or _DURATION.sub("", value) != "":
        raise UsageError(f"--duration {text!r}: expected a duration like 90s, 15m, 2h, 1d, 1h30m")
    delta = timedelta()
    for amount, unit in _DURATION.findall(value):
        delta += timedelta(**{_UNITS[unit]: int(amount)})
    if delta <= timedelta():
        raise UsageError(f"--duration {text!r} must be more than nothing")
    return delta


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time (UTC without a zone)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected an ISO 8601 time like 2026-05-01T18:00:00Z") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def matchers_of(texts: Sequence[str]) -> list[Matcher]:
    """The matchers of the arguments; a bare first word is ``alertname=<word>`` (amtool's shorthand)."""
    found: list[Matcher] = []
    for index, text in enumerate(texts):
        if index == 0 and _BARE.fullmatch(text.strip()):
            text = f"alertname={text.strip()}"
        try:
            found.extend(parse_matchers(text))
        except MatcherError as error:
            raise UsageError(str(error)) from None
    return found


def span(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    """The silence's start and end from ``--start`` and ``--end`` or ``--duration``."""
    start = parse_time(args.start, "--start") if args.start else now
    end = parse_time(args.end, "--end") if args.end else start + parse_duration(args.duration or DEFAULT_DURATION)
    return start, end


async def add(store: Silences, args: argparse.Namespace, now: datetime) -> int:
    """Create the silence; print its id."""
    start, end = span(args, now)
    author = args.author or getpass.getuser()
    silence = await store.create(matchers_of(args.matchers), start, end, author, args.comment, now=now)
    print(silence.id)
    return 0


def listing(store: Silences, args: argparse.Namespace, now: datetime) -> int:
    """Print the silences the filter keeps: the expired ones with ``--expired``, the others without."""
    matchers = matchers_of(args.matchers) if args.matchers else []
    kept = [
        silence
        for silence in store.all()
        if (silence.state(now) == "expired") == args.expired
        and filter_matches(matchers, silence_labels(silence.matchers))
    ]
    print(json_text(kept, now) if args.json else table(kept, now))
    return 0


async def expire(store: Silences, ids: Sequence[str], now: datetime) -> int:
    """End each silence; 1 when any could not be ended (each said on stderr)."""
    code = 0
    for silence_id in ids:
        try:
            await store.expire(silence_id, now)
        except (SilenceError, SilenceNotFound) as error:
            print(f"alertmesh silence expire: {error.args[0]}", file=sys.stderr)
            code = 1
            continue
        print(f"expired {silence_id}")
    return code


async def run(args: argparse.Namespace) -> int:
    """Open the store, do the subcommand, close the store."""
    kafka = KafkaSettings()
    if args.bootstrap_servers:
        kafka = kafka.model_copy(update={"bootstrap_servers": args.bootstrap_servers})
    store = Silences(kafka, TopicSettings().silences, backoff=REACH)
    command = f"alertmesh silence {args.silence_command}"
    try:
        await store.start(READ_S)
        if not store.ready:
            print(f"{command}: the silences topic was not read to its end within {READ_S:.0f}s", file=sys.stderr)
            return 1
        now = datetime.now(UTC)
        if args.silence_command == "add":
            return await add(store, args, now)
        if args.silence_command == "list":
            return listing(store, args, now)
        return await expire(store, args.ids, now)
    except UsageError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 2
    except SilenceError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 1
    except GaveUp as error:
        print(f"{command}: cannot reach Kafka at {kafka.bootstrap_servers}: {error}", file=sys.stderr)
        return 1
    finally:
        await store.stop()
