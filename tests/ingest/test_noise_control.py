"""Noise control in process, with a state log that refuses what Kafka's producer would: an alert whose state cannot
be written is dead-lettered (stage noise) and the batch goes on; groups keep sources apart; the state is bounded
(entries per partition, key sizes, closed windows deleted) and its evictions counted. Through the real broker:
test_noise_integration.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.ingest.noise.keys import MAX_KEY_PART_CHARS
from services.ingest.noise.state_log import StateLog
from services.ingest.routing import RoutingFileError, parse_routing
from services.shared import metrics
from tests.ingest.noise_fakes import MIB, Mesh

GROUPING = orjson.dumps(
    {"routes": [{"name": "probes", "match": {}, "workflow": "triage", "group_by": ["job"], "group_wait": 0}]}
).decode()
ACROSS = GROUPING.replace('"group_wait":0', '"group_wait":0,"group_across_sources":true')
EVERYTHING = '{"routes": [{"name": "all", "match": {}, "workflow": "triage"}]}'


def alert(fingerprint: str, job: str = "web", **fields: Any) -> dict[str, Any]:
    labels = {"alertname": "ProbeFailure", "job": job, **fields.pop("labels", {})}
    return {"status": "firing", "labels": labels, "fingerprint": fingerprint, **fields}


def evictions(kind: str) -> float:
    return metrics.NOISE_EVICTIONS.labels(kind)._value.get()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "big",
    [
        {"fingerprint": "f" * 400_000},  # the audit's: its trigger fits, its state entry was 1.2 MB
        {"annotations": {"dump": "d" * 400_000}},  # trigger 0.8 MB: a group of it alone would be 1.6 MB
        {"labels": {"job": "j" * 450_000}},  # a group_by value that large: the group header itself is too large
    ],
    ids=["fingerprint", "annotation", "group-label"],
)
async def test_an_alert_its_group_cannot_hold_is_dead_lettered_and_the_batch_goes_on(big: dict[str, Any]) -> None:
    mesh = Mesh(GROUPING)
    fields = {key: value for key, value in big.items() if key != "fingerprint"}
    poison = mesh.record(alert(big.get("fingerprint", "big"), **fields))
    good = mesh.record(alert("good"))
    [(_, first), (_, second)] = await mesh.send(poison, good)
    [letter] = mesh.letters()
    assert letter.data.stage == "noise" and letter.data.original_offset == poison.offset
    assert "over the 1048576-byte limit" in letter.data.reason and "group_by route probes" in letter.data.reason
    assert first.failures and not first.held and not first.triggers
    assert [note for _, note in second.held] and not second.failures
    assert all(StateLog.entry_size(entry) <= MIB for entry in mesh.state.writes)
    assert await mesh.noise.flush_due() == 1
    [trigger] = mesh.sent()
    assert [a.fingerprint for a in trigger.data.alerts] == ["good"]


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"n": "bottom"}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


async def test_an_alert_nested_too_deep_for_a_group_trigger_is_dead_lettered_not_published() -> None:
    """A group trigger nests the alert deeper than its own trigger: at the edge of what the orchestrator's JSON
    reader takes, the alert passes alone but its group could never be decoded. Every depth around that edge ends
    as a decodable trigger or a noise dead letter (``mesh.sent`` decodes each trigger as the orchestrator does)."""
    reasons = []
    for depth in range(180, 200):
        mesh = Mesh(GROUPING)
        await mesh.send(mesh.record(alert(f"deep-{depth}", deep=nested(depth))))
        assert all(trigger.data.alerts for trigger in mesh.sent())
        reasons += [letter.data.reason for letter in mesh.letters() if letter.data.stage == "noise"]
    assert any("could not be decoded by the orchestrator" in reason for reason in reasons), reasons


async def test_an_entry_kafka_refuses_for_good_dead_letters_the_alert_it_held() -> None:
    """A broker whose own limit is lower than ours (or any other permanent refusal): the alert is taken out of its
    group and dead-lettered, the rest of the batch is held and flushed."""
    mesh = Mesh(GROUPING, refuse=lambda entry: "victim" in entry.key)
    victim, other = mesh.record(alert("victim")), mesh.record(alert("other"))
    [(_, first), (_, second)] = await mesh.send(victim, other)
    [letter] = mesh.letters()
    assert letter.data.stage == "noise" and letter.data.original_offset == victim.offset
    assert "Kafka refused its grouping state entry" in letter.data.reason
    assert first.failures and not first.held and second.held
    assert await mesh.noise.flush_due() == 1
    [trigger] = mesh.sent()
    assert [a.fingerprint for a in trigger.data.alerts] == ["other"]


async def test_a_refused_dedup_entry_forgets_the_window_of_a_trigger_that_went_out() -> None:
    mesh = Mesh(EVERYTHING, window_s=300, refuse=lambda entry: "dedup" in entry.key)
    await mesh.send(mesh.record(alert("a")))
    await mesh.send(mesh.record(alert("a")))  # not remembered: passes again rather than vanish
    assert len(mesh.sent()) == 2 and not mesh.letters()


async def test_a_group_holds_one_source_unless_the_route_groups_across_sources() -> None:
    mesh = Mesh(GROUPING)
    await mesh.send(mesh.record(alert("same"), source="edr"), mesh.record(alert("same"), source="siem"))
    assert await mesh.noise.flush_due() == 2
    triggers = mesh.sent()
    assert sorted((t.data.alert.source, len(t.data.alerts)) for t in triggers) == [("edr", 1), ("siem", 1)]
    assert len({t.data.idempotency_key for t in triggers}) == 2

    across = Mesh(ACROSS)
    await across.send(across.record(alert("same"), source="edr"), across.record(alert("same"), source="siem"))
    assert await across.noise.flush_due() == 1
    [trigger] = across.sent()
    # Both kept: the second source's alert never replaces the first one's.
    assert [a.source for a in trigger.data.alerts] == ["edr", "siem"] and trigger.data.alert.source == "edr"


async def test_dedup_keeps_sources_apart() -> None:
    mesh = Mesh(EVERYTHING, window_s=300)
    await mesh.send(mesh.record(alert("same"), source="edr"), mesh.record(alert("same"), source="siem"))
    assert sorted(t.data.alert.source for t in mesh.sent()) == ["edr", "siem"]


async def test_dedup_entries_past_the_bound_are_evicted_oldest_first_and_counted() -> None:
    mesh = Mesh(EVERYTHING, window_s=300, max_dedup_entries=3)
    before = evictions("dedup")
    for name in "abcde":
        await mesh.send(mesh.record(alert(name)))
    assert evictions("dedup") == before + 2
    assert [key[-1] for key in mesh.state.tombstoned()] == ["a", "b"]
    await mesh.send(mesh.record(alert("e")), mesh.record(alert("a")))
    # e is still in its window (dropped); a was evicted, so its repeat passes as new (documented).
    assert [t.data.alert.fingerprint for t in mesh.sent()] == ["a", "b", "c", "d", "e", "a"]


async def test_groups_past_the_bound_evict_an_empty_one_or_let_the_alert_out_alone() -> None:
    mesh = Mesh(GROUPING, max_groups=2)
    overflow, evicted = evictions("group_overflow"), evictions("group")
    [_, _, (_, third)] = await mesh.send(*(mesh.record(alert(f"f{job}", job=job)) for job in ("a", "b", "c")))
    assert third.triggers and not third.held  # every group pending: this alert went out ungrouped
    assert evictions("group_overflow") == overflow + 1
    assert [t.data.alert.labels["job"] for t in mesh.sent()] == ["c"]
    assert await mesh.noise.flush_due() == 2  # both groups flushed: empty now, waiting out their interval
    [(_, fourth)] = await mesh.send(mesh.record(alert("fd", job="d")))
    assert fourth.held and evictions("group") == evicted + 1
    assert any(key[2] == "group" for key in mesh.state.tombstoned())


async def test_state_keys_are_bounded_whatever_the_fingerprint() -> None:
    for routing, window in ((GROUPING, 0.0), (EVERYTHING, 300.0)):
        mesh = Mesh(routing, window_s=window)
        await mesh.send(mesh.record(alert("\x1b[2J" + "f" * 10_000)), mesh.record(alert("g" * 129)))
        keys = [entry.key for entry in mesh.state.writes]
        assert keys and all(len(str(part)) <= MAX_KEY_PART_CHARS for key in keys for part in key[2:])
        assert all(str(part).isprintable() for key in keys for part in key[2:])


async def test_closed_windows_are_deleted_from_the_state_topic() -> None:
    mesh = Mesh(EVERYTHING, window_s=1)
    await mesh.send(mesh.record(alert("old"), at=datetime.now(UTC) - timedelta(seconds=5)))
    await mesh.noise.flush_due()
    assert [key[2:] for key in mesh.state.tombstoned()] == [["dedup", "all", "alertmanager", "old"]]


async def test_a_record_time_in_the_future_never_holds_state_past_its_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A producer's clock in the future (the year 9999) opened a dedup window and a group_wait that never ended: the
    entry was never deleted, the group never flushed. Record times are taken as at most now."""
    start = datetime(2026, 6, 1, tzinfo=UTC)
    clock = [start.timestamp() * 1000]
    monkeypatch.setattr("services.ingest.noise.control.now_ms", lambda: clock[0])
    future = datetime(9999, 12, 31, tzinfo=UTC)

    mesh = Mesh(EVERYTHING, window_s=1)
    await mesh.send(mesh.record(alert("ahead"), at=future))
    clock[0] += 2_000
    await mesh.noise.flush_due()
    assert [key[2:] for key in mesh.state.tombstoned()] == [["dedup", "all", "alertmanager", "ahead"]]

    grouping = Mesh(GROUPING)
    await grouping.send(grouping.record(alert("ahead"), at=future))
    assert await grouping.noise.flush_due() == 1


def test_group_across_sources_needs_group_by_and_is_placed_in_the_file() -> None:
    text = "routes:\n  - name: r\n    workflow: triage\n    group_across_sources: true\n"
    with pytest.raises(RoutingFileError, match=r"routing.yaml:4:\d+: .*group_across_sources needs group_by"):
        parse_routing(text, Path("routing.yaml"))
    table = parse_routing(text.replace("    workflow", "    group_by: [job]\n    workflow"), Path("routing.yaml"))
    assert (
        table.routes[0].group_across_sources and not parse_routing(GROUPING, Path("r")).routes[0].group_across_sources
    )
