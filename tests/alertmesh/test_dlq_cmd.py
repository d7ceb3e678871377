"""``alertmesh dlq`` without a broker: reading --since, choosing dead letters, the table and the JSON lines."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertmesh import cli, kafka_tools
from alertmesh.commands import dlq
from alertmesh.commands.dlq import letters as letters_module
from alertmesh.commands.dlq.letters import (
    REPLAY_HEADER,
    Selection,
    SelectionError,
    decode_letters,
    json_lines,
    list_letters,
    parse_since,
    replay_record,
    stream_row,
    table,
    with_originals,
)
from alertmesh.views.safe_text import escape, escape_json, escape_lines
from schemas import DeadLetter
from schemas.deadletter import STAGES
from services.shared.deadletter import ConsumedRecord, dead_letter
from services.shared.kafka import KafkaSettings
from tests.shared.strategies import FUZZ, HOSTILE_TEXT, controls_in

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def letter(stage: str, reason: str, *, offset: int, age: timedelta, value: bytes = b"{}") -> DeadLetter:
    record = ConsumedRecord(
        value=value, headers={"content-type": "application/json", "x-bin": "\ufffd"}, topic="alerts.raw",
        received_at=NOW - age, partition=0, offset=offset, key=b"k", binary_headers={"x-bin": b"\xff"},
    )  # fmt: skip
    built = dead_letter(record, source="alertmesh/ingest", stage=stage, reason=reason, max_bytes=1 << 20,
                        alert_source="grafana" if stage == "route" else None)  # fmt: skip
    # The reason exactly as given, newlines included (dead_letter escapes them; older letters and other writers
    # may not): the table must still show one line per letter.
    return built.model_copy(update={"data": built.data.model_copy(update={"reason": reason})})


PARSE = letter("parse", "not JSON: unexpected character", offset=1, age=timedelta(hours=3), value=b"{oops")
ROUTE = letter("route", "no route matches alert 'Disk'\n(source=grafana)", offset=2, age=timedelta(minutes=5))
START = letter("start", "unknown workflow 'later'", offset=3, age=timedelta(minutes=1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", NOW - timedelta(minutes=15)),
        ("1h30m", NOW - timedelta(hours=1, minutes=30)),
        ("2d", NOW - timedelta(days=2)),
        ("90s", NOW - timedelta(seconds=90)),
        ("2026-11-28T11:00:00+00:00", datetime(2026, 11, 28, 11, tzinfo=UTC)),
        ("2026-11-28T11:00:00", datetime(2026, 11, 28, 11, tzinfo=UTC)),  # no zone: UTC
        ("2026-11-28T12:00:00+01:00", datetime(2026, 11, 28, 11, tzinfo=UTC)),
    ],
)
def test_since_is_a_duration_back_from_now_or_an_iso_time(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "15", "m15", "1x"])
def test_a_since_that_is_neither_is_refused_with_the_forms_it_takes(text: str) -> None:
    with pytest.raises(SelectionError, match="duration like 15m"):
        parse_since(text, NOW)


def test_stage_and_since_filter_and_keep_topic_order() -> None:
    letters = [PARSE, ROUTE, START]
    assert Selection().pick(letters) == letters
    assert Selection(stage="route").pick(letters) == [ROUTE]
    assert Selection(since=NOW - timedelta(minutes=10)).pick(letters) == [ROUTE, START]
    assert Selection(stage="parse", since=NOW - timedelta(minutes=10)).pick(letters) == []


def test_ids_are_chosen_by_unique_prefix_and_ambiguity_or_absence_is_an_error() -> None:
    letters = [PARSE, ROUTE, START]
    assert Selection(ids=(ROUTE.id[:8], START.id)).pick(letters) == [ROUTE, START]
    with pytest.raises(SelectionError, match="no dead letter with id 'zzz' \\(stage parse\\)"):
        Selection(stage="parse", ids=("zzz",)).pick(letters)
    with pytest.raises(SelectionError, match="ambiguous"):
        Selection(ids=("",)).pick(letters)


def test_a_redelivered_failure_is_listed_once_and_foreign_records_are_counted() -> None:
    values = [PARSE.to_json(), b"not a dead letter", ROUTE.to_json(), PARSE.to_json()]
    assert decode_letters(values) == ([PARSE, ROUTE], 1)


def test_the_table_has_one_line_per_letter_with_the_reason_cut_to_the_width() -> None:
    text = table([PARSE, ROUTE, START], width=140)
    head, parse, route, start, total = text.splitlines()
    assert head.split() == ["ID", "TIME", "(UTC)", "STAGE", "SOURCE", "FROM", "SIZE", "REASON"]
    assert parse.startswith(PARSE.id[:8]) and "2026-11-28 09:00:00" in parse and "alerts.raw@0/1" in parse
    assert "  parse  " in parse and "5 B" in parse and "not JSON" in parse
    assert "grafana" in route and route.endswith("no route matches alert 'Disk' (source=grafana)")  # one line
    assert all(len(line) <= 140 for line in (parse, route, start))
    for width in (100, 80):  # the reason gets what is left, with an ellipsis, but never under 20 characters
        line = table([ROUTE], width=width).splitlines()[1]
        assert line.endswith("...") and len(line) == max(width, line.index("no route") + 20)
    assert total == "3 dead letters" and table([], width=80).splitlines() == [
        "ID  TIME (UTC)  STAGE  SOURCE  FROM  SIZE  REASON",
        "0 dead letters",
    ]


def test_a_cut_original_says_so_in_the_table() -> None:
    cut = START.model_copy(update={"data": START.data.model_copy(update={"truncated": True, "original_size": 3 << 20})})
    assert "3.0 MiB (cut)" in table([cut], width=200)


def test_json_lines_are_the_dead_letter_events() -> None:
    lines = json_lines([PARSE, ROUTE]).splitlines()
    assert [DeadLetter.from_json(line) for line in lines] == [PARSE, ROUTE]
    assert orjson.loads(lines[0])["data"]["original"] == "e29vcHM="  # base64 of b"{oops"


def test_a_replay_sends_the_original_key_value_and_exact_headers_and_names_its_dead_letter() -> None:
    key, value, headers = replay_record(PARSE)
    assert (key, value) == (b"k", b"{oops")
    assert headers == [("content-type", b"application/json"), ("x-bin", b"\xff"), (REPLAY_HEADER, PARSE.id.encode())]
    # The record of a failed replay carries the header already: a second replay names only the newer letter.
    again = PARSE.model_copy(
        update={
            "data": PARSE.data.model_copy(
                update={"original_headers": {REPLAY_HEADER: "old"}, "original_headers_base64": {}}
            )
        }
    )
    assert replay_record(again)[2] == [(REPLAY_HEADER, PARSE.id.encode())]


def test_replaying_any_letter_of_a_group_sends_its_records_original_once() -> None:
    record = ConsumedRecord(value=b'{"version":"4"}', headers={}, topic="alerts.raw", received_at=NOW, partition=0,
                            offset=9, key=b"k")  # fmt: skip
    carrier = dead_letter(record, source="alertmesh/ingest", stage="parse", reason="alerts[0]: x", max_bytes=1 << 20)
    first, second = (
        dead_letter(
            record,
            source="alertmesh/ingest",
            stage="route",
            reason=f"alerts[{n}]: y",
            max_bytes=1 << 20,
            original_in=carrier.id,
        )
        for n in (1, 2)
    )
    assert first.data.original == b"" and first.data.original_size == len(record.value)
    # Selected alone, the others' letter is found on the topic; selected together, it is sent once.
    assert with_originals([second], [carrier]) == ([carrier], [])
    assert with_originals([first, carrier, second], []) == ([carrier], [])
    assert with_originals([PARSE, first, ROUTE], [carrier]) == ([PARSE, carrier, ROUTE], [])
    # Its carrier gone (the topic's retention): named, not replayed as an empty record.
    assert with_originals([first], []) == ([], [first.id])


def test_the_command_line_offers_exactly_the_five_stages() -> None:
    assert dlq.DLQ_STAGES == STAGES
    args = cli.parser().parse_args(["dlq", "replay", "--id", "ab", "--id", "cd", "--stage", "start", "--to", "t"])
    assert (args.dlq_command, args.id, args.stage, args.to, args.all) == ("replay", ["ab", "cd"], "start", "t", False)
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["dlq", "replay", "--id", "ab", "--all"])
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["dlq", "replay"])
    listing = cli.parser().parse_args(["dlq", "list", "--since", "15m", "--json"])
    assert (listing.since, listing.json, listing.stage) == ("15m", True, None)


def test_a_bad_since_ends_the_command_with_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["dlq", "list", "--since", "soon"]) == 2
    assert "--since 'soon'" in capsys.readouterr().err


# --- Operator output: nothing from a record reaches the terminal as a control character ------------------------------


def hostile_letter(reason: str, source: str, topic: str, header: str) -> DeadLetter:
    record = ConsumedRecord(
        value=b"{}", headers={"x": header}, topic=topic or "t", received_at=NOW, partition=0, offset=1, key=b"k"
    )
    return dead_letter(record, source="alertmesh/ingest", stage="route", reason=reason, max_bytes=1 << 20,
                       alert_source=source or None)  # fmt: skip


def lines_with_controls(text: str) -> list[str]:
    """The printed lines (split at the newlines the command writes) that still hold a control character."""
    return [line for line in text.split("\n") if controls_in(line)]


@FUZZ
@given(HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, st.integers(20, 200))
def test_no_printed_line_of_a_dead_letter_holds_a_control_character(
    reason: str, source: str, topic: str, header: str, width: int
) -> None:
    letter = hostile_letter(reason, source, topic, header)
    assert lines_with_controls(table([letter], width)) == []
    assert lines_with_controls(stream_row(letter, width)) == []
    assert "\n" not in stream_row(letter, width)  # a newline in the data does not start a line of its own
    jsonl = json_lines([letter])
    assert lines_with_controls(jsonl) == [] and jsonl.count("\n") == 1
    assert DeadLetter.from_json(jsonl.encode()) == letter  # the same event, escapes and all


@FUZZ
@given(st.text())
def test_escaping_changes_only_control_characters(text: str) -> None:
    shown = escape(text)
    assert not controls_in(shown) and not controls_in(escape_lines(text).replace("\n", ""))
    if not controls_in(text):
        assert shown == escape_lines(text) == escape_json(text) == text
    assert orjson.loads(escape_json(orjson.dumps(text).decode())) == text


async def values_of(letters: list[DeadLetter]) -> AsyncIterator[bytes]:
    for letter in letters:
        yield letter.to_json()


class Screen(io.StringIO):
    def isatty(self) -> bool:
        return True


@FUZZ
@given(st.lists(st.tuples(HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT), max_size=4), st.booleans())
def test_dlq_list_prints_no_control_character_from_the_records(data: list[tuple[str, str, str]], as_json: bool) -> None:
    letters = [hostile_letter(reason, source, topic, "") for reason, source, topic in data]

    def read(*args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
        return values_of(letters)

    out = io.StringIO() if as_json else Screen()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kafka_tools, "read", read)
        assert asyncio.run(list_letters(KafkaSettings(), "dlq", Selection(), as_json=as_json, out=out)) == 0
    printed = out.getvalue()
    assert lines_with_controls(printed) == []
    shown = len({one.id for one in letters})
    assert len(printed.split("\n")) - 1 == (shown if as_json else shown + 2)  # the table adds header and count


def test_dlq_list_prints_each_letter_as_it_reads_it_and_stops_at_the_limit() -> None:
    """Streaming: the first line is out before the second record is read, and --limit stops the read."""
    letters = [letter("parse", f"broken {n}", offset=n, age=timedelta(minutes=n)) for n in range(50)]
    read_count = 0
    printed_after: list[int] = []

    async def read(*args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
        nonlocal read_count
        for one in letters:
            read_count += 1
            yield one.to_json()

    class Out(io.StringIO):
        def write(self, text: str) -> int:
            printed_after.append(read_count)
            return super().write(text)

    out = Out()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kafka_tools, "read", read)
        assert asyncio.run(list_letters(KafkaSettings(), "dlq", Selection(), as_json=True, out=out, limit=7)) == 0
    assert printed_after[:3] == [1, 2, 3]
    assert [DeadLetter.from_json(line) for line in out.getvalue().splitlines()] == letters[:7]
    assert read_count <= 8


def test_a_redelivered_letter_is_listed_once_within_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(letters_module, "DEDUP_WINDOW", 2)
    values = [PARSE, PARSE, ROUTE, PARSE, START]

    async def read(*args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
        for one in values:
            yield one.to_json()

    monkeypatch.setattr(kafka_tools, "read", read)
    out = io.StringIO()
    assert asyncio.run(list_letters(KafkaSettings(), "dlq", Selection(), as_json=True, out=out)) == 0
    assert [DeadLetter.from_json(line) for line in out.getvalue().splitlines()] == [PARSE, ROUTE, START]


def test_list_takes_a_positive_limit() -> None:
    assert cli.parser().parse_args(["dlq", "list", "--limit", "3"]).limit == 3
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["dlq", "list", "--limit", "0"])
