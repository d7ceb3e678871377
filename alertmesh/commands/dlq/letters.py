"""``alertmesh dlq``: list the dead letters (``list``) and send their original records again after a fix
(``replay``).

A dead letter keeps the record exactly as it arrived: value, key and headers (non-UTF-8 header values byte for
byte). Replaying writes those back to the topic the record came from (or ``--to``) with acks=all, so the record
goes through every stage again as if it were new; since trigger ids and workflow ids derive from the alert, a
record that already started its workflow starts nothing the second time. The topic a dead letter names is data
(anyone who can write the dead-letter topic chooses it), so without ``--to`` only a topic the mesh reads (alerts
in, triggers) is written; a letter naming another is skipped, with the reason.

When several alerts of one record failed (a group), each has its own letter but only the first carries the record's
bytes; the others name it (``original_in``). Replaying any of them sends that original once, however many of its
letters are selected; its alerts that already became triggers start nothing new.

``list`` prints each dead letter as it reads it (memory does not grow with the topic; ``--limit`` stops early).
Everything printed that came from a record passes through ``alertmesh.views.safe_text``.
"""

from __future__ import annotations

import logging
import re
import shutil
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from alertmesh import kafka_tools
from alertmesh.views.progress import Progress
from alertmesh.views.safe_text import escape, escape_json, escape_lines
from alertmesh.views.table import format_row, render
from schemas import DeadLetter
from services.shared.kafka import KafkaSettings

log = logging.getLogger("alertmesh")

#: Header a replayed record carries: the id of the dead letter it came from, so a record that fails again can be
#: traced to its earlier failure (it replaces the one an earlier replay set).
REPLAY_HEADER = "alertmesh-replay-of"
#: Shortest id prefix the table shows; ``--id`` takes any unique prefix.
SHORT_ID = 8
#: How many recent dead-letter ids a listing remembers to show a redelivered failure once (a redelivery is written
#: soon after the first copy); bounds memory however long the topic is.
DEDUP_WINDOW = 100_000
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class SelectionError(ValueError):
    """The command line asks for dead letters that cannot be told apart, or a time that cannot be read."""


def parse_since(text: str, now: datetime) -> datetime:
    """``--since``: a duration back from ``now`` (``90s``, ``15m``, ``2h``, ``1d``, ``1h30m``) or an ISO 8601
    time (without a zone it is UTC)."""
    value = text.strip()
    if value and _DURATION.sub("", value) == "":
        delta = timedelta()
        for amount, unit in _DURATION.findall(value):
            delta += timedelta(**{_UNITS[unit]: int(amount)})
        return now - delta
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SelectionError(
            f"--since {text!r}: expected a duration like 15m, 2h, 1d, 1h30m or an ISO 8601 time"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command acts on: all (None) or some stages, from a time on, optionally by id prefix."""

    stage: str | None = None
    since: datetime | None = None
    ids: tuple[str, ...] = ()

    def matches(self, letter: DeadLetter) -> bool:
        """Whether ``letter`` is of the selected stage and received at or after ``since``."""
        if self.stage is not None and letter.data.stage != self.stage:
            return False
        return self.since is None or letter.time >= self.since

    def names(self, letter: DeadLetter) -> bool:
        """Whether one of the ``ids`` prefixes names ``letter`` (any letter when no ids were given)."""
        return not self.ids or any(letter.id.startswith(prefix) for prefix in self.ids)

    def pick(self, letters: Sequence[DeadLetter]) -> list[DeadLetter]:
        """The letters matching stage and time; with ``ids``, exactly one per id prefix (else ``SelectionError``)."""
        kept = [letter for letter in letters if self.matches(letter)]
        if not self.ids:
            return kept
        chosen: list[DeadLetter] = []
        for prefix in self.ids:
            found = [letter for letter in kept if letter.id.startswith(prefix)]
            if not found:
                raise SelectionError(f"no dead letter with id {prefix!r}" + self._filters())
            if len(found) > 1:
                ids = ", ".join(letter.id for letter in found[:5])
                raise SelectionError(f"id {prefix!r} is ambiguous ({ids}): give more of it")
            if found[0] not in chosen:
                chosen.append(found[0])
        return chosen

    def _filters(self) -> str:
        parts = ([f"stage {self.stage}"] if self.stage else []) + ([f"since {self.since:%F %T}"] if self.since else [])
        return f" ({', '.join(parts)})" if parts else ""


def decode_letters(values: Iterable[bytes]) -> tuple[list[DeadLetter], int]:
    """The dead letters in topic order, each once (a redelivered failure is written again with the same id), and
    how many records were not dead letters at all."""
    letters: dict[str, DeadLetter] = {}
    unreadable = 0
    for value in values:
        try:
            letter = DeadLetter.from_json(value)
        except ValidationError:
            unreadable += 1
            continue
        letters.setdefault(letter.id, letter)
    return list(letters.values()), unreadable


def json_lines(letters: Iterable[DeadLetter]) -> str:
    """One dead letter event a line, as on the topic (older stage names already read as the new ones), control
    characters as JSON escapes (the same values; nothing a terminal acts on)."""
    return escape_json("".join(letter.to_json().decode() + "\n" for letter in letters))


TABLE_HEADER = ("ID", "TIME (UTC)", "STAGE", "SOURCE", "FROM", "SIZE", "REASON")


def table(letters: Sequence[DeadLetter], width: int) -> str:
    """A table for people: short id, time, stage, sender, where it came from, size, then the reason cut to fit
    ``width`` columns (the whole reason is in ``--json``)."""
    lines = render([TABLE_HEADER] + [letter_row(letter) for letter in letters], width)
    count = len(letters)
    lines.append(f"{count} dead letter{'' if count == 1 else 's'}")
    return "\n".join(lines) + "\n"


def letter_row(letter: DeadLetter) -> tuple[str, str, str, str, str, str, str]:
    """One dead letter's cells under ``TABLE_HEADER`` (``alertmesh status`` lists the newest the same way)."""
    data = letter.data
    where = f"{data.original_topic}@{data.original_partition if data.original_partition is not None else '?'}"
    where += f"/{data.original_offset}" if data.original_offset is not None else ""
    size = _size(data.original_size) + (" (cut)" if data.truncated else "")
    reason = " ".join(data.reason.split())  # one line per letter, whatever the reason quotes
    when = letter.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    cells = letter.id[:SHORT_ID], when, data.stage, data.alert_source or "-", where, size, reason
    a, b, c, d, e, f, g = (escape(cell) for cell in cells)  # every cell but the time and size is data
    return a, b, c, d, e, f, g


#: Widths of ``TABLE_HEADER``'s columns but the last when ``list`` streams (it cannot wait for the widest cell).
STREAM_WIDTHS = (SHORT_ID, 19, 8, 16, 28, 14)


def stream_row(letter: DeadLetter, width: int) -> str:
    """One dead letter as a line of the streamed table: cells cut to ``STREAM_WIDTHS``, the reason to ``width``."""
    cells = letter_row(letter)
    fixed = [
        cell if len(cell) <= size else cell[: size - 1] + "…"
        for cell, size in zip(cells[:-1], STREAM_WIDTHS, strict=True)
    ]
    return format_row([*fixed, cells[-1]], STREAM_WIDTHS, width)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


def replay_record(letter: DeadLetter) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """Key, value and headers to send again: the original's, plus ``REPLAY_HEADER`` naming this dead letter."""
    data = letter.data
    headers = [(name, value) for name, value in data.replay_headers() if name != REPLAY_HEADER]
    return data.original_key, data.original, [*headers, (REPLAY_HEADER, letter.id.encode())]


async def list_letters(
    kafka: KafkaSettings,
    dlq_topic: str,
    selection: Selection,
    *,
    as_json: bool | None = None,
    limit: int | None = None,
    out: TextIO | None = None,
    timeout_s: float = 60,
) -> int:
    """Print the selected dead letters as they are read: a table on a terminal, JSON lines otherwise (or when
    ``as_json``); at most ``limit`` of them (oldest first)."""
    out = out or sys.stdout
    json = as_json if as_json is not None else not out.isatty()
    width = shutil.get_terminal_size().columns
    if not json:
        out.write(format_row(TABLE_HEADER, STREAM_WIDTHS, width) + "\n")
    shown = 0
    try:
        async for letter in stream_letters(kafka, dlq_topic, timeout_s):
            if limit is not None and shown >= limit:
                break
            if not selection.matches(letter) or not selection.names(letter):
                continue
            out.write(json_lines([letter]) if json else stream_row(letter, width) + "\n")
            out.flush()
            shown += 1
    except ReadFailed:
        return 1
    if not json:
        more = " (--limit reached)" if limit is not None and shown >= limit else ""
        out.write(f"{shown} dead letter{'' if shown == 1 else 's'}{more}\n")
    out.flush()
    return 0


class ReadFailed(Exception):
    """The dead-letter topic could not be read (the reason is logged)."""


async def stream_letters(kafka: KafkaSettings, topic: str, timeout_s: float) -> AsyncIterator[DeadLetter]:
    """The dead letters on ``topic`` now, in topic order, as they are read; a redelivered failure (written again
    with the same id) once, as long as its copies are within ``DEDUP_WINDOW`` letters of each other. Records that
    are not dead letters are counted and skipped. ``ReadFailed`` when the topic cannot be read."""
    recent: OrderedDict[str, None] = OrderedDict()
    unreadable = 0
    try:
        async for value in kafka_tools.read(kafka, topic, follow=False, timeout_s=timeout_s):
            try:
                letter = DeadLetter.from_json(value)
            except ValidationError:
                unreadable += 1
                continue
            if letter.id in recent:
                continue
            recent[letter.id] = None
            if len(recent) > DEDUP_WINDOW:
                recent.popitem(last=False)
            yield letter
    except LookupError:
        log.error("dead-letter topic %r does not exist (ALERTMESH_TOPIC_DLQ; is the mesh up?)", escape(topic))
        raise ReadFailed(topic) from None
    except TimeoutError:
        log.error("could not read %r within %.0fs (KAFKA_BOOTSTRAP_SERVERS=%s)", escape(topic), timeout_s,
                  kafka.bootstrap_servers)  # fmt: skip
        raise ReadFailed(topic) from None
    if unreadable:
        log.warning("%d records on %s are not dead letters; skipped", unreadable, escape(topic))


async def selected_letters(
    kafka: KafkaSettings, topic: str, selection: Selection, timeout_s: float
) -> list[DeadLetter] | None:
    """The dead letters on ``topic`` that ``selection`` picks (None when the topic cannot be read); only those that
    match are kept in memory, not the whole topic."""
    kept: list[DeadLetter] = []
    try:
        async for letter in stream_letters(kafka, topic, timeout_s):
            if selection.matches(letter) and selection.names(letter):
                kept.append(letter)
    except ReadFailed:
        return None
    return selection.pick(kept)


def with_originals(chosen: Sequence[DeadLetter], carriers: Iterable[DeadLetter]) -> tuple[list[DeadLetter], list[str]]:
    """What to send for the ``chosen`` letters: each letter's own original, or, for a letter that names another as
    carrying its record's bytes (``original_in``), that letter (found in ``chosen`` or ``carriers``); each original
    once, in the order first needed. Also the ids of the letters whose carrier is not there."""
    known = {letter.id: letter for letter in (*chosen, *carriers)}
    sending: dict[str, DeadLetter] = {}
    missing: list[str] = []
    for letter in chosen:
        carrier = known.get(letter.data.original_in) if letter.data.original_in is not None else letter
        if carrier is None:
            missing.append(letter.id)
        else:
            sending.setdefault(carrier.id, carrier)
    return list(sending.values()), missing


async def _carriers(
    kafka: KafkaSettings, topic: str, chosen: Sequence[DeadLetter], timeout_s: float
) -> list[DeadLetter]:
    """The letters carrying the originals ``chosen`` letters name and did not select themselves."""
    have = {letter.id for letter in chosen}
    wanted = {letter.data.original_in for letter in chosen if letter.data.original_in not in (None, *have)}
    if not wanted:
        return []
    found: list[DeadLetter] = []
    try:
        async for letter in stream_letters(kafka, topic, timeout_s):
            if letter.id in wanted:
                found.append(letter)
    except ReadFailed:
        return []
    return found


async def replay_letters(
    kafka: KafkaSettings,
    dlq_topic: str,
    selection: Selection,
    *,
    to: str | None = None,
    replayable: Collection[str] = (),
    out: TextIO | None = None,
    timeout_s: float = 60,
) -> int:
    """Send the selected dead letters' originals again (acks=all), each to ``to`` or else to the topic it came from
    if that is one of ``replayable`` (the topics the mesh reads); 1 if any could not be replayed."""
    out = out or sys.stdout
    chosen = await selected_letters(kafka, dlq_topic, selection, timeout_s)
    if chosen is None:
        return 1
    if not chosen:
        log.info("no dead letter to replay")
        return 0
    chosen, missing = with_originals(chosen, await _carriers(kafka, dlq_topic, chosen, timeout_s))
    for letter_id in missing:
        log.error("dead letter %s: the letter holding its original is no longer on %s", escape(letter_id),
                  escape(dlq_topic))  # fmt: skip
    failed = len(missing)
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all")
    await producer.start()
    # Progress on stderr: stdout has one line per replayed letter, for scripts.
    progress = Progress("replaying dead letters", total=len(chosen))
    try:
        for done, letter in enumerate(chosen):
            progress.update(done)
            if letter.data.truncated:
                # Only the start of the value was kept (it did not fit a Kafka message): sending it would be a
                # different record.
                log.error(
                    "dead letter %s: the original was cut to fit the topic (%d of %d bytes kept), not replayed",
                    escape(letter.id), len(letter.data.original), letter.data.original_size,
                )  # fmt: skip
                failed += 1
                continue
            topic = to or letter.data.original_topic
            if to is None and topic not in replayable:
                # The record names where it came from, and anyone who can write the dead-letter topic writes that.
                mesh = ", ".join(replayable) or "none"
                out.write(escape_lines(f"skipped {escape(letter.id)}: its original topic {escape(topic)!r} is not one "
                                       f"the mesh reads ({mesh}); give --to to send it there\n"))  # fmt: skip
                failed += 1
                continue
            key, value, headers = replay_record(letter)
            meta = await producer.send_and_wait(topic, value, key=key, headers=headers)
            where = f"{meta.topic}[{meta.partition}] at {meta.offset}"
            out.write(escape_lines(f"replayed {escape(letter.id)} ({escape(letter.data.stage)}) to {escape(where)}\n"))
        progress.update(len(chosen))
    finally:
        progress.close()
        await producer.stop()
    return 1 if failed else 0
