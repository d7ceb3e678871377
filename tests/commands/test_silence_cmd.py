"""``alertmesh silence``: its command line, its output (escaped: every field is operator input) and, through the
real embedded broker, add, list and expire against the silences topic (marker ``integration``)."""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from alertmesh.cli import main, parser
from alertmesh.commands.silence import actions
from alertmesh.commands.silence.view import json_text, table
from schemas.silence import Silence
from services.shared.kafka import KafkaSettings
from services.shared.matchers import parse_matchers
from services.shared.silences import Silences

NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = timedelta(hours=1)


def silence(
    id_: str, text: str, comment: str = "why", start: datetime = NOW - HOUR, end: datetime = NOW + HOUR
) -> Silence:
    return Silence(
        id=id_, matchers=parse_matchers(text), starts_at=start, ends_at=end, created_by="ann", comment=comment,
        updated_at=start,
    )  # fmt: skip


def args(*argv: str) -> argparse.Namespace:
    return parser().parse_args(["silence", *argv])


@pytest.mark.parametrize(("text", "delta"), [("90s", timedelta(seconds=90)), ("1h30m", timedelta(minutes=90)),
                                             ("2d", timedelta(days=2)), ("1w", timedelta(weeks=1))])  # fmt: skip
def test_durations(text: str, delta: timedelta) -> None:
    assert actions.parse_duration(text) == delta


@pytest.mark.parametrize("text", ["", "2", "2x", "0m", "-1h", "1h 30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(actions.UsageError):
        actions.parse_duration(text)


def test_a_bare_first_word_is_an_alertname() -> None:
    assert actions.matchers_of(["Disk", 'env=~"a|b"']) == parse_matchers('alertname="Disk", env=~"a|b"')
    with pytest.raises(actions.UsageError):
        actions.matchers_of(["env", "Disk"])  # only the first word may be bare


async def test_add_with_duration_or_end(capsys: pytest.CaptureFixture[str]) -> None:
    store = Silences.in_memory()
    assert await actions.add(store, args("add", "Disk", "-c", "swap", "--duration", "2h", "-a", "bob"), NOW) == 0
    [made] = store.all()
    assert capsys.readouterr().out.strip() == made.id
    assert made.ends_at - made.starts_at == 2 * HOUR and made.created_by == "bob" and made.comment == "swap"
    end = (NOW + 3 * HOUR).strftime("%Y-%m-%dT%H:%M:%S")
    start = (NOW + HOUR).isoformat()
    await actions.add(store, args("add", "job=x", "-c", "c", "--start", start, "--end", end), NOW)
    [later] = [s for s in store.all() if s.id != made.id]
    assert later.state(NOW) == "pending" and later.ends_at == NOW + 3 * HOUR and later.created_by


def test_duration_and_end_exclude_each_other() -> None:
    with pytest.raises(SystemExit):
        args("add", "Disk", "-c", "c", "--duration", "1h", "--end", "2030-01-01T00:00:00")


def test_comment_is_required() -> None:
    with pytest.raises(SystemExit):
        args("add", "Disk")


def test_list_shows_the_unexpired_or_the_expired(capsys: pytest.CaptureFixture[str]) -> None:
    store = Silences.in_memory(
        [silence("live", 'alertname="Disk"'), silence("gone", 'alertname="Cpu"', end=NOW - HOUR, start=NOW - 2 * HOUR)]
    )
    actions.listing(store, args("list"), NOW)
    out = capsys.readouterr().out
    assert "live" in out and "gone" not in out and "active" in out and '{alertname="Disk"}' in out
    actions.listing(store, args("list", "--expired"), NOW)
    out = capsys.readouterr().out
    assert "gone" in out and "live" not in out
    actions.listing(store, args("list", "--json", "alertname=Cpu"), NOW)
    assert json.loads(capsys.readouterr().out) == []
    actions.listing(store, args("list", "--json", "alertname=~D.*"), NOW)
    [shown] = json.loads(capsys.readouterr().out)
    assert shown["id"] == "live" and shown["status"] == {"state": "active"}


def test_every_field_is_escaped() -> None:
    hostile = silence("s1", 'alertname="a\x1b]0;pwned\x07"', comment="fine\rEVIL\u202e")
    shown = table([hostile], NOW)
    assert "\x1b" not in shown and "\r" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert "\\x1b" in shown and "\\x0d" in shown
    as_json = json_text([hostile], NOW)
    assert "\u202e" not in as_json and json.loads(as_json)[0]["comment"] == "fine\rEVIL\u202e"


async def test_expire_says_which_failed(capsys: pytest.CaptureFixture[str]) -> None:
    store = Silences.in_memory([silence("s1", 'alertname="Disk"')])
    assert await actions.expire(store, ["s1", "nope", "s1"], NOW) == 1
    captured = capsys.readouterr()
    assert captured.out.strip() == "expired s1"
    assert "nope not found" in captured.err and "already expired" in captured.err


@pytest.mark.integration
def test_add_list_expire_through_kafka(kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    topic = f"silences-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("ALERTMESH_TOPIC_SILENCES", topic)
    kafka = ["--bootstrap-servers", kafka_bootstrap]
    assert main(["silence", "add", *kafka, "alertname=Disk", "instance=~db-.*", "-c", "swap", "--duration", "2h"]) == 0
    silence_id = capsys.readouterr().out.strip()
    assert main(["silence", "list", *kafka, "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["id"] == silence_id and listed["status"]["state"] == "active"

    async def silencing() -> list[str]:
        store = Silences(KafkaSettings(bootstrap_servers=kafka_bootstrap), topic)
        await store.start(30)
        try:
            return store.silencing({"alertname": "Disk", "instance": "db-2"}, datetime.now(UTC))
        finally:
            await store.stop()

    import asyncio

    assert asyncio.run(silencing()) == [silence_id]
    assert main(["silence", "expire", *kafka, silence_id]) == 0
    assert asyncio.run(silencing()) == []
    capsys.readouterr()
    assert main(["silence", "list", *kafka, "--expired", "--json"]) == 0
    assert [s["id"] for s in json.loads(capsys.readouterr().out)] == [silence_id]
    assert main(["silence", "add", *kafka, 'alertname=""', "-c", "x"]) == 1
    assert "must not match the empty string" in capsys.readouterr().err
