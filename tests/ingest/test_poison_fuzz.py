"""Property-based fuzzing of the ingest consumer's handling, in process: FastStream's real parser composed with
ours, then ``process`` and ``Emitter.emit`` with publishers that enforce the producer's size limit.

Whatever the record (value, key, headers, timestamp), no exception escapes and it ends as its triggers and/or
its dead letters (one per failure: the whole record's, or each failed alert's of a group), the record's bytes in
exactly one of them, every record written within the size limit. ``--hypothesis-show-statistics`` prints
the number of examples run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from schemas import DeadLetter, WorkflowTrigger
from services.ingest.emitter import Emitter
from services.ingest.noise.state_log import StateLog
from services.ingest.pipeline import EVENT_SOURCE, process
from services.ingest.routing import RoutingTable
from services.shared.backoff import Backoff
from services.shared.consuming import DeadLetters
from services.shared.deadletter import printable
from tests.ingest.noise_fakes import BACKOFF, Mesh
from tests.shared.fakes import SizeLimitedPublisher
from tests.shared.strategies import (
    DEEP,
    EDGE_TIMES,
    FUZZ,
    HEADER_LISTS,
    HEADER_NAME,
    HEADER_VALUE,
    HOSTILE_HEADER_VALUE,
    HOSTILE_KEYS,
    HUGE_TEXT,
    JSON,
    JSON_LEAF,
    TEXT,
    TIMESTAMPS,
    consumed,
    dumps,
    hostile_headers,
    kafka_record,
)

ROUTING = RoutingTable.model_validate(
    {
        "routes": [
            {"name": "crit", "match": {"severity": "critical"}, "workflow": "triage", "inputs": {"team": "x"}},
            {"name": "regex", "match": {"name": {"regex": "Probe.*"}}, "workflow": "triage"},
            {"name": "label", "match": {"labels.team": ["sre", "infra"]}, "workflow": "enrich"},
            {"name": "edr", "match": {"source": "edr", "format": "cloudevents"}, "workflow": "triage"},
        ]
    }
)

SCALAR_OR_WRONG = st.sampled_from(["firing", "resolved", "FIRING", "bogus"]) | JSON_LEAF | st.lists(TEXT, max_size=2)


STRINGS = st.dictionaries(TEXT, TEXT, max_size=3)


@st.composite
def alertmanager_alert(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly a valid alert (so routing and trigger building are reached), with at most one field gone wrong."""
    labels = draw(STRINGS) | {
        "alertname": draw(st.sampled_from(["ProbeFailure", "DiskFull"]) | TEXT | HUGE_TEXT),
        "severity": draw(st.sampled_from(["critical", "warning", "P1", ""])),
        "team": draw(st.sampled_from(["sre", "infra", "db"])),
    }
    alert: dict[str, Any] = {"labels": labels, "status": "firing", "annotations": draw(STRINGS)}
    for name in ("startsAt", "endsAt"):
        if draw(st.integers(0, 3)) == 0:
            alert[name] = draw(EDGE_TIMES)
    if draw(st.booleans()):
        alert["fingerprint"] = draw(TEXT | HUGE_TEXT)
    extra = draw(st.sampled_from(["none", "none", "deep", "blob", "json"]))
    if extra == "deep":
        alert["deep"] = draw(DEEP)
    elif extra == "blob":
        alert["blob"] = draw(HUGE_TEXT)
    elif extra == "json":
        alert["extra"] = draw(JSON)
    wrong = draw(st.sampled_from(["none", "none", "none", "label", "status", "field", "drop"]))
    if wrong == "label":
        labels[draw(st.sampled_from(["alertname", "severity", "x"]))] = draw(JSON_LEAF | st.lists(TEXT, max_size=2))
    elif wrong == "status":
        alert["status"] = draw(SCALAR_OR_WRONG)
    elif wrong == "field":
        alert[draw(st.sampled_from(["labels", "annotations", "fingerprint", "generatorURL"]))] = draw(JSON)
    elif wrong == "drop":
        del labels["alertname"]
    return alert


@st.composite
def cloudevent(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly a valid CloudEvent with alert data, with at most one attribute gone wrong."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": draw(TEXT.filter(bool) | st.just("e-1")),
        "source": draw(st.sampled_from(["edr", "siem"]) | TEXT),
        "type": draw(st.sampled_from(["alert.raised"]) | TEXT),
        "data": draw(STRINGS) | {"title": draw(st.sampled_from(["ProbeFailure", "x"]) | TEXT),
                                 "severity": draw(st.sampled_from(["critical", "low"]))},
    }  # fmt: skip
    if draw(st.booleans()):
        event["time"] = draw(EDGE_TIMES)
    extra = draw(st.sampled_from(["none", "none", "deep", "blob", "json"]))
    if extra == "deep":
        event["data"]["deep"] = draw(DEEP)
    elif extra == "blob":
        event["data"]["blob"] = draw(HUGE_TEXT)
    elif extra == "json":
        event["data"]["extra"] = draw(JSON)
    if draw(st.integers(0, 3)) == 0:
        attribute = draw(st.sampled_from(["specversion", "id", "source", "type", "subject", "data", "time"]))
        event[attribute] = draw(JSON | EDGE_TIMES)
    return event


@st.composite
def document(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["alertmanager", "alertmanager", "cloudevent", "cloudevent", "json"]))
    if kind == "alertmanager":
        alerts = draw(st.lists(alertmanager_alert(), min_size=1, max_size=4) | JSON)
        return {"version": draw(st.sampled_from(["4", "4", "4", "1", 4])), "status": "firing", "alerts": alerts}
    if kind == "cloudevent":
        return draw(cloudevent())
    return draw(JSON)


@st.composite
def raw_value(draw: st.DrawFn) -> bytes | None:
    """Mostly JSON documents close to a real alert; sometimes no value, bytes, or JSON that is not a document."""
    kind = draw(st.integers(0, 9))
    if kind <= 5:
        return dumps(draw(document()))
    if kind == 6:
        return dumps(draw(DEEP))
    if kind == 7:
        return draw(st.binary(max_size=64))
    if kind == 8:
        return draw(
            st.sampled_from([b"", b"   ", b"{not json", b"\xff\xfe\x00", b"[]", b"null", b"1e400", b'"\\ud800"'])
        )
    return None


#: Binary-mode CloudEvents: the attributes as ce_* headers, the body the alert data.
BINARY_MODE = [("ce_specversion", b"1.0"), ("ce_id", b"b-1"), ("ce_source", b"edr"), ("ce_type", b"alert")]
HEADERS = HEADER_LISTS | st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=3).map(
    lambda extra: BINARY_MODE + extra
)


@FUZZ
@given(
    value=raw_value(),
    key=st.none() | st.binary(max_size=16),
    headers=HEADERS,
    timestamp=TIMESTAMPS,
    limit=st.sampled_from([16_384, 65_536]),
)
async def test_every_raw_record_ends_as_triggers_or_one_dead_letter(
    value: bytes | None, key: bytes | None, headers: list[Any], timestamp: int, limit: int
) -> None:
    record = await consumed(kafka_record("alerts.raw", value, key, headers, timestamp))
    triggers, dlq = SizeLimitedPublisher(limit), SizeLimitedPublisher(limit)
    backoff = Backoff(initial_s=0.001, max_s=0.001, budget_s=0.01)
    emitter = Emitter(triggers, DeadLetters(dlq, source=EVENT_SOURCE, max_bytes=limit, backoff=backoff), backoff)

    await emitter.emit(record, process(record, ROUTING, limit))

    event(f"{len(triggers.sent)} trigger(s)" if triggers.sent else "no trigger")
    for body, _, _ in dlq.sent:
        letter = DeadLetter.from_json(body)
        event(f"dead letter {letter.data.stage}{' (cut)' if letter.data.truncated else ''}")
    assert triggers.refused == dlq.refused == 0, "a record over the limit reached the producer"
    assert len(triggers.sent) + len(dlq.sent) >= 1
    carriers = kept_once([DeadLetter.from_json(body) for body, _, _ in dlq.sent], value or b"")
    for body, trigger_key, _ in triggers.sent:
        trigger = WorkflowTrigger.from_json(body)
        assert trigger_key == trigger.data.idempotency_key.encode()
    for body, letter_key, _ in dlq.sent:
        letter = DeadLetter.from_json(body)
        assert letter.data.stage in {"parse", "route", "validate", "publish"}
        # The pipeline's safety net turns any exception into a dead letter; the fuzzer's job is to find inputs that
        # need it, i.e. checks the parsers are missing.
        assert "unexpected error" not in letter.data.reason, letter.data.reason
        assert letter.data.original_size == len(value or b"")
        assert (value or b"").startswith(letter.data.original)
        assert letter.data.truncated or letter.data.original == (value or b"") or letter.id not in carriers
        assert letter_key == letter.data.original_key


def kept_once(letters: list[DeadLetter], value: bytes) -> set[str]:
    """The record's bytes are in one of its letters: every other one is about one alert, names that letter and
    describes the whole value without carrying it. Returns the carrying letter's id (none when no letter)."""
    carriers = {letter.id for letter in letters if letter.data.original_in is None}
    assert len(carriers) == (1 if letters else 0), [letter.data.reason for letter in letters]
    for letter in letters:
        if letter.id not in carriers:
            assert letter.data.original_in in carriers and letter.data.original == b""
            assert letter.data.alert_index is not None
            assert letter.data.original_size == len(value)
    return carriers


def printable_everywhere(letter: DeadLetter) -> None:
    """Nothing a dead letter shows as text carries a control, format or separator character raw."""
    data = letter.data
    texts = [data.reason, data.original_topic, data.alert_source or "", *data.original_headers]
    texts += [*data.original_headers.values(), *data.original_headers_cut]
    for text in texts:
        assert printable(text) == text, text


@FUZZ
@given(
    value=raw_value(),
    key=HOSTILE_KEYS,
    headers=hostile_headers(),
    limit=st.sampled_from([16_384, 65_536, 1_048_576]),
)
async def test_hostile_headers_and_keys_always_give_a_letter_within_the_limit(
    value: bytes | None, key: bytes | None, headers: list[Any], limit: int
) -> None:
    """Whatever the headers (many, huge, binary, control characters, names included) and key, a record that fails
    gets its dead letters (the record's bytes in exactly one) within the limit, every text in them printable, and
    the carrying letter, when not marked truncated, gives back the value, key and headers exactly as they were
    sent."""
    record = await consumed(kafka_record("alerts.raw", value, key, headers, 0))
    triggers, dlq = SizeLimitedPublisher(limit), SizeLimitedPublisher(limit)
    emitter = Emitter(triggers, DeadLetters(dlq, source=EVENT_SOURCE, max_bytes=limit, backoff=BACKOFF), BACKOFF)

    await emitter.emit(record, process(record, ROUTING, limit))

    assert triggers.refused == dlq.refused == 0
    assert len(triggers.sent) + len(dlq.sent) >= 1
    carriers = kept_once([DeadLetter.from_json(body) for body, _, _ in dlq.sent], value or b"")
    for body, letter_key, _ in dlq.sent:
        letter = DeadLetter.from_json(body)
        event(f"dead letter {letter.data.stage}{' (cut)' if letter.data.truncated else ''}")
        printable_everywhere(letter)
        assert letter_key == letter.data.original_key
        assert letter.data.original_size == len(value or b"") and (value or b"").startswith(letter.data.original)
        if not letter.data.truncated and letter.id in carriers:
            sent = {name: raw or b"" for name, raw in headers}  # the last value of a repeated name
            assert dict(letter.data.replay_headers()) == sent
            assert letter.data.original == (value or b"") and letter.data.original_key == key


#: Noise control on every route: dedup (the window), grouping per source, and grouping across sources.
NOISE_ROUTING = RoutingTable.model_validate(
    {
        "routes": [
            {"name": "crit", "match": {"severity": "critical"}, "workflow": "triage", "group_by": ["team"],
             "group_wait": 0, "continue": True},
            {"name": "regex", "match": {"name": {"regex": "Probe.*"}}, "workflow": "triage", "group_by": ["alertname"],
             "group_wait": 0, "group_across_sources": True},
            {"name": "label", "match": {"labels.team": ["sre", "infra"]}, "workflow": "enrich"},
            {"name": "edr", "match": {"source": "edr", "format": "cloudevents"}, "workflow": "triage"},
        ]
    }
)  # fmt: skip
SOURCES = st.none() | st.sampled_from([b"edr", b"siem", b"alertmanager"]) | HOSTILE_HEADER_VALUE


@FUZZ
@given(
    records=st.lists(
        st.tuples(raw_value(), HOSTILE_KEYS, HEADERS | hostile_headers(), SOURCES), min_size=1, max_size=4
    ),
    limit=st.sampled_from([16_384, 65_536, 1_048_576]),
    bounds=st.sampled_from([(1, 1), (2, 3), (100_000, 1000)]),
)
async def test_every_record_through_noise_control_ends_written_held_or_dead_lettered(
    records: list[tuple[bytes | None, bytes | None, list[Any], bytes | None]], limit: int, bounds: tuple[int, int]
) -> None:
    """Dedup and grouping (per source and across sources, with tiny and default bounds) never raise and never
    write a state entry or a trigger the producer would refuse: every alert is a trigger, held, dropped as a
    repeat or in a dead letter of its record (the record's bytes in one), and every held group flushes within the
    limit."""
    mesh = Mesh(NOISE_ROUTING, window_s=300, limit=limit, max_dedup_entries=bounds[0], max_groups=bounds[1])
    consumed_records = []
    for offset, (value, key, headers, source) in enumerate(records):
        extra = [] if source is None else [("alertmesh-source", source)]
        raw = kafka_record("alerts.raw", value, key, [*headers, *extra], 1_700_000_000_000 + offset)
        consumed_records.append(dataclasses.replace(await consumed(raw), offset=offset))
    outcomes = await mesh.send(*consumed_records)
    await mesh.noise.flush_due()

    assert mesh.state.refusals == 0, "a state entry over the limit reached the producer"
    assert mesh.triggers.refused == mesh.dlq.refused == 0, "a record over the limit reached the producer"
    assert all(StateLog.entry_size(entry) <= limit for entry in mesh.state.writes)
    letters = [DeadLetter.from_json(body) for body, _, _ in mesh.dlq.sent]
    carrying = [letter for letter in letters if letter.data.original_in is None]
    assert len({letter.data.original_offset for letter in carrying}) == len(carrying)  # the bytes once per record
    kept_ids = {kept.id for kept in carrying}
    assert all(letter.data.original_in in kept_ids for letter in letters if letter.data.original_in is not None)
    for letter in letters:
        event(f"dead letter {letter.data.stage}")
        assert letter.data.stage in {"parse", "route", "validate", "noise"}
        assert "unexpected error" not in letter.data.reason, letter.data.reason
        printable_everywhere(letter)
    lettered = {letter.data.original_offset for letter in letters}
    for record, outcome in outcomes:
        assert bool(outcome.failures) == (record.offset in lettered)
        event("held" if outcome.held else "passed" if outcome.triggers else "no trigger")
    for trigger in mesh.sent():
        assert all(alert.source == trigger.data.alerts[0].source for alert in trigger.data.alerts) or (
            trigger.data.route == "regex"
        ), "a group mixed sources on a route that does not group across them"
