"""The silence store: Alertmanager 0.25's validation, update and expiry rules, and which silences silence what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.silence import Matcher, Silence
from services.shared.matchers import parse_matchers
from services.shared.silences import SilenceError, SilenceNotFound, Silences, encode

#: Near the wall clock: the retention counts from it.
NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = timedelta(hours=1)


def silence(
    id_: str = "s1", text: str = 'alertname="Disk"', start: datetime = NOW - HOUR, end: datetime = NOW + HOUR
) -> Silence:
    return Silence(
        id=id_, matchers=parse_matchers(text), starts_at=start, ends_at=end, created_by="ann", comment="c",
        updated_at=start,
    )  # fmt: skip


async def create(store: Silences, text: str, start: datetime, end: datetime, id_: str | None = None) -> Silence:
    return await store.create(parse_matchers(text), start, end, "ann", "why", silence_id=id_, now=NOW)


def test_silencing_needs_every_matcher_and_the_time() -> None:
    store = Silences.in_memory(
        [
            silence("b", 'alertname="Disk", env=~"prod|stage"'),
            silence("a", 'alertname=~"D.*"'),
            silence("later", 'alertname="Disk"', start=NOW + HOUR, end=NOW + 2 * HOUR),
            silence("over", 'alertname="Disk"', start=NOW - 2 * HOUR, end=NOW),
            silence("other", 'alertname="Cpu"'),
        ]
    )
    assert store.silencing({"alertname": "Disk", "env": "prod"}, NOW) == ["a", "b"]
    assert store.silencing({"alertname": "Disk", "env": "dev"}, NOW) == ["a"]
    assert store.silencing({"alertname": "Disk"}, NOW + HOUR) == ["later"]
    assert store.silencing({"alertname": "Other"}, NOW) == []


def test_absent_label_is_the_empty_string() -> None:
    store = Silences.in_memory(
        [silence("x", 'alertname="Disk", team!="db"'), silence("y", 'alertname="Disk", team=""')]
    )
    assert store.silencing({"alertname": "Disk"}, NOW) == ["x", "y"]
    assert store.silencing({"alertname": "Disk", "team": "db"}, NOW) == []


async def test_create_gives_a_new_id_and_starts_now_at_the_earliest() -> None:
    store = Silences.in_memory()
    made = await create(store, 'alertname="Disk"', NOW - HOUR, NOW + HOUR)
    assert made.starts_at == NOW and made.ends_at == NOW + HOUR and made.updated_at == NOW
    assert store.get(made.id) == made and store.all() == [made]
    assert made.created_by == "ann" and made.comment == "why"


@pytest.mark.parametrize(
    ("text", "start", "end", "reason"),
    [
        ('a="b"', NOW + HOUR, NOW + HOUR, "start time must be before end time"),
        ('a="b"', NOW + HOUR, NOW, "start time must be before end time"),
        ('a="b"', NOW - 2 * HOUR, NOW - HOUR, "end time can't be in the past"),
        ("", NOW, NOW + HOUR, "at least one matcher required"),
        ('a=""', NOW, NOW + HOUR, "must not match the empty string"),
        ('a=~".*", b!="x"', NOW, NOW + HOUR, "must not match the empty string"),
        ('a:b="x"', NOW, NOW + HOUR, "invalid label name"),
    ],
)
async def test_refused_as_alertmanager_refuses(text: str, start: datetime, end: datetime, reason: str) -> None:
    store = Silences.in_memory()
    with pytest.raises(SilenceError, match=reason):
        await create(store, text, start, end)
    assert store.all() == []


async def test_one_matcher_not_matching_empty_is_enough() -> None:
    store = Silences.in_memory()
    made = await create(store, 'a=~".*", b="x"', NOW, NOW + HOUR)
    assert store.silencing({"b": "x"}, NOW) == [made.id]


async def test_bad_regex_is_refused() -> None:
    store = Silences.in_memory()
    with pytest.raises(SilenceError, match="invalid"):
        await store.create([Matcher(name="a", value="(", is_regex=True)], NOW, NOW + HOUR, "a", "c", now=NOW)


async def test_update_of_an_unknown_id_is_not_found() -> None:
    with pytest.raises(SilenceNotFound):
        await create(Silences.in_memory(), 'a="b"', NOW, NOW + HOUR, id_="nope")


async def test_active_silence_with_same_matchers_and_start_is_updated_in_place() -> None:
    store = Silences.in_memory([silence("s1")])
    updated = await create(store, 'alertname="Disk"', NOW - HOUR, NOW + 3 * HOUR, id_="s1")
    assert updated.id == "s1" and updated.ends_at == NOW + 3 * HOUR and updated.comment == "why"
    assert [s.id for s in store.all()] == ["s1"]


async def test_changed_matchers_expire_the_old_and_create_a_new_one() -> None:
    store = Silences.in_memory([silence("s1")])
    made = await create(store, 'alertname="Cpu"', NOW - HOUR, NOW + HOUR, id_="s1")
    assert made.id != "s1"
    old = store.get("s1")
    assert old is not None and old.ends_at == NOW and old.state(NOW) == "expired"
    assert store.silencing({"alertname": "Disk"}, NOW) == []
    assert store.silencing({"alertname": "Cpu"}, NOW) == [made.id]


async def test_active_silence_with_a_moved_start_is_replaced() -> None:
    store = Silences.in_memory([silence("s1")])
    made = await create(store, 'alertname="Disk"', NOW - 2 * HOUR, NOW + HOUR, id_="s1")
    assert made.id != "s1"


async def test_pending_silence_may_move_its_start_into_the_future() -> None:
    store = Silences.in_memory([silence("p", start=NOW + HOUR, end=NOW + 2 * HOUR)])
    updated = await create(store, 'alertname="Disk"', NOW + 30 * timedelta(minutes=1), NOW + 2 * HOUR, id_="p")
    assert updated.id == "p" and updated.starts_at == NOW + timedelta(minutes=30)


async def test_expired_silence_is_never_updated_in_place() -> None:
    store = Silences.in_memory([silence("e", start=NOW - 2 * HOUR, end=NOW - HOUR)])
    made = await create(store, 'alertname="Disk"', NOW, NOW + HOUR, id_="e")
    assert made.id != "e"
    old = store.get("e")
    assert old is not None and old.ends_at == NOW - HOUR  # untouched


async def test_expire_active_ends_it_now() -> None:
    store = Silences.in_memory([silence("s1")])
    expired = await store.expire("s1", NOW)
    assert expired.starts_at == NOW - HOUR and expired.ends_at == NOW and expired.state(NOW) == "expired"
    assert store.silencing({"alertname": "Disk"}, NOW) == []


async def test_expire_pending_sets_both_ends_to_now() -> None:
    store = Silences.in_memory([silence("p", start=NOW + HOUR, end=NOW + 2 * HOUR)])
    expired = await store.expire("p", NOW)
    assert expired.starts_at == NOW and expired.ends_at == NOW


async def test_expire_twice_or_unknown_is_an_error() -> None:
    store = Silences.in_memory([silence("s1")])
    await store.expire("s1", NOW)
    with pytest.raises(SilenceError, match="already expired"):
        await store.expire("s1", NOW)
    with pytest.raises(SilenceNotFound):
        await store.expire("nope", NOW)


def test_expired_silences_are_kept_for_the_retention_then_forgotten() -> None:
    now = datetime.now(UTC)
    recent = silence("recent", start=now - 3 * HOUR, end=now - HOUR)
    old = silence("old", start=now - 10 * HOUR, end=now - 3 * HOUR)
    store = Silences.in_memory([recent, old], retention_s=2 * 3600)
    assert [s.id for s in store.all()] == ["recent"]
    assert store.get("old") is None and store.get("recent") == recent


def test_decode_drops_what_is_past_the_retention() -> None:
    now = datetime.now(UTC)
    store = Silences.in_memory(retention_s=3600)
    assert store._decode(b"x", encode(silence("x", start=now - 3 * HOUR, end=now - 2 * HOUR))) is None
    kept = silence("y", start=now - 3 * HOUR, end=now - timedelta(minutes=10))
    assert store._decode(b"y", encode(kept)) == kept


def test_topic_value_is_alertmanager_json() -> None:
    value = encode(silence("s1", 'a=~"x.*"'))
    assert b'"startsAt"' in value and b'"isRegex":true' in value and b'"createdBy"' in value
    assert Silence.model_validate_json(value) == silence("s1", 'a=~"x.*"')


async def test_times_are_kept_to_the_millisecond_so_a_read_back_update_is_in_place() -> None:
    store = Silences.in_memory()
    now = NOW + timedelta(microseconds=123456)
    made = await store.create(parse_matchers('a="b"'), now, now + HOUR, "ann", "c", now=now)
    assert made.starts_at.microsecond == 123000 and made.ends_at.microsecond == 123000
    # What a client read through the API (milliseconds) and posts back with a later end:
    updated = await store.create(
        made.matchers, made.starts_at, made.ends_at + HOUR, "ann", "c", silence_id=made.id, now=now + HOUR / 2
    )
    assert updated.id == made.id and updated.ends_at == made.ends_at + HOUR
