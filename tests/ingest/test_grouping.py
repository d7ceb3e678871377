"""Grouping as a pure function of record times (its Kafka side: test_noise_integration.py)."""

from __future__ import annotations

from typing import Any

from schemas import WorkflowTrigger
from services.ingest.noise.control import fits
from services.ingest.noise.grouping import Groups, alert_parts, group_triggers
from services.ingest.routing import Route
from tests.ingest.factories import make_alert

ROUTE = Route(name="probes", workflow="triage", group_by=["alertname"], group_wait=30, group_interval=300)


def alert(fingerprint: str, alertname: str = "ProbeFailure", **fields: Any) -> Any:
    return make_alert(fingerprint=fingerprint, labels={"alertname": alertname}, **fields)


def test_a_group_waits_group_wait_then_flushes_every_alert_once() -> None:
    groups = Groups(max_alerts=100)
    groups.add(0, ROUTE, alert("a"), 1_000)
    groups.add(0, ROUTE, alert("b"), 2_000)
    groups.add(0, ROUTE, alert("a", summary="newer"), 3_000)  # the same alert again: replaced, not added
    assert groups.due(30_999) == []
    [(partition, _, group)] = groups.due(31_000)
    [trigger] = group_triggers(partition, group, 1_048_576, fits)
    assert [a.fingerprint for a in trigger.data.alerts] == ["b", "a"]
    assert trigger.data.alerts[1].summary == "newer"
    assert trigger.data.idempotency_key.startswith("triage:group:probes:")
    assert trigger.data.idempotency_key.endswith(":p0:19700101T000031.000Z")


def test_label_values_make_separate_groups() -> None:
    groups = Groups(max_alerts=100)
    groups.add(0, ROUTE, alert("a", alertname="ProbeFailure"), 0)
    groups.add(0, ROUTE, alert("b", alertname="DiskFull"), 0)
    assert len(groups.due(30_000)) == 2


def test_after_a_flush_the_next_alerts_wait_for_group_interval() -> None:
    groups = Groups(max_alerts=100)
    groups.add(0, ROUTE, alert("a"), 0)
    [(_, _, group)] = groups.due(30_000)
    first = group_triggers(0, group, 1_048_576, fits)[0].data.idempotency_key
    group.last_flush_ms, group.flush_at_ms = group.flush_at_ms, None
    group.alerts.clear()
    groups.add(0, ROUTE, alert("b"), 40_000)
    assert groups.due(329_999) == []
    [(_, _, group)] = groups.due(330_000)
    assert group_triggers(0, group, 1_048_576, fits)[0].data.idempotency_key != first


def test_a_full_group_flushes_at_once() -> None:
    groups = Groups(max_alerts=2)
    groups.add(0, ROUTE, alert("a"), 0)
    groups.add(0, ROUTE, alert("b"), 5)
    assert len(groups.due(5)) == 1


def test_a_group_past_its_maximum_is_flushed_in_triggers_of_at_most_that_many() -> None:
    groups = Groups(max_alerts=3)
    for index in range(7):  # a batch can add past the maximum before the next flush
        groups.add(0, ROUTE, alert(f"f{index}"), 0)
    [(_, _, group)] = groups.due(0)
    triggers = group_triggers(0, group, 1_048_576, fits, max_alerts=3)
    assert [len(t.data.alerts) for t in triggers] == [3, 3, 1]
    assert len({t.data.idempotency_key for t in triggers}) == 3


def test_a_group_too_large_for_one_record_is_split_with_distinct_keys() -> None:
    groups = Groups(max_alerts=100)
    for index in range(8):
        groups.add(0, ROUTE, alert(f"f{index}", description="x" * 2_000), 0)
    [(_, _, group)] = groups.due(30_000)
    triggers = group_triggers(0, group, 20_000, fits)
    assert len(triggers) > 1
    assert all(fits(trigger, 20_000) for trigger in triggers)
    assert len({t.data.idempotency_key for t in triggers}) == len(triggers)
    assert sorted(a.fingerprint for t in triggers for a in t.data.alerts) == [f"f{i}" for i in range(8)]


def test_pending_groups_come_back_from_their_state_entries() -> None:
    groups = Groups(max_alerts=100)
    parts, group = groups.add(3, ROUTE, alert("a"), 0)
    restored = Groups(max_alerts=100)
    stored = {
        "data": {"alert": alert("a").model_dump(mode="json")}
    }  # the single-alert trigger, as the pipeline built it
    restored.restore(3, {parts: group.value(), alert_parts(parts, "a"): stored}, now_ms=1_000)
    [(partition, _, back)] = restored.due(30_000)
    assert partition == 3 and list(back.alerts) == ["a"]
    trigger = group_triggers(3, back, 1_048_576, fits)[0]
    assert WorkflowTrigger.from_json(trigger.to_json()) == trigger
