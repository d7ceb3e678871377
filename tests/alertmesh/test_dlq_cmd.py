"""``alertmesh dlq`` without a broker: reading --since, choosing dead letters, the table and the JSON lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from alertmesh import cli
from alertmesh.commands import dlq
from alertmesh.commands.dlq.letters import (
    REPLAY_HEADER,
    Selection,
    SelectionError,
    decode_letters,
    json_lines,
    parse_since,
    replay_record,
    table,
)
from schemas import DeadLetter
from schemas.deadletter import STAGES
from services.shared.deadletter import ConsumedRecord, dead_letter

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
