"""The metrics module: the contract's names and labels, bounded label values, the scrape, and the counting in
the shared consumer plumbing (publish retries, dead letters)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import TopicPartition
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from alertmesh.stack.embedded import free_port
from services.shared import metrics
from services.shared.backoff import Backoff
from services.shared.consumer_lag import CONSUMER_LAG, lag_of
from services.shared.consuming import DeadLetters, Outgoing, publish_all_durably
from services.shared.deadletter import ConsumedRecord
from services.shared.health import HealthServer

#: The names and labels issue 9 fixes (dashboards and `alertmesh status` read them): never renamed.
CONTRACT = {
    "alertmesh_alerts_received": ("counter", {"source", "format"}),
    "alertmesh_triggers": ("counter", {"route", "workflow"}),
    "alertmesh_dead_letters": ("counter", {"service", "stage"}),
    "alertmesh_consumer_lag_records": ("gauge", {"group", "topic", "partition"}),
    "alertmesh_workflow_starts": ("counter", {"workflow"}),
    "alertmesh_workflow_start_duplicates": ("counter", {"workflow"}),
    "alertmesh_workflow_results": ("counter", {"workflow", "status"}),
    "alertmesh_action_duration_seconds": ("histogram", {"action", "status"}),
    "alertmesh_webhook_requests": ("counter", {"source", "code"}),
    "alertmesh_publish_retries": ("counter", {"service", "topic"}),
}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_every_contract_metric_is_registered_with_its_type_and_labels() -> None:
    declared = {metric.name: metric for metric in REGISTRY.collect()}
    labels = {
        name: set(metric._labelnames)
        for name, metric in [
            ("alertmesh_alerts_received", metrics.ALERTS_RECEIVED),
            ("alertmesh_triggers", metrics.TRIGGERS),
            ("alertmesh_dead_letters", metrics.DEAD_LETTERS),
            ("alertmesh_workflow_starts", metrics.WORKFLOW_STARTS),
            ("alertmesh_workflow_start_duplicates", metrics.WORKFLOW_START_DUPLICATES),
            ("alertmesh_workflow_results", metrics.WORKFLOW_RESULTS),
            ("alertmesh_action_duration_seconds", metrics.ACTION_DURATION),
            ("alertmesh_webhook_requests", metrics.WEBHOOK_REQUESTS),
            ("alertmesh_publish_retries", metrics.PUBLISH_RETRIES),
        ]
    }
    [lag] = CONSUMER_LAG.collect()
    labels[lag.name] = set(lag._labelnames)
    for name, (kind, expected) in CONTRACT.items():
        assert name in declared, name
        assert declared[name].type == kind, name
        assert labels[name] == expected, name


def test_a_bounded_label_keeps_its_first_values_and_calls_the_rest_other() -> None:
    label = metrics.BoundedLabel(2)
    assert [label("a"), label("b"), label("c"), label("a"), label("b")] == ["a", "b", "other", "a", "b"]
    assert label("") == "other"  # "unknown" would be a third value


def test_a_bounded_label_names_missing_values_unknown_and_cuts_long_ones() -> None:
    label = metrics.BoundedLabel(10)
    assert label(None) == label("  ") == "unknown"
    assert label("x" * 500) == "x" * metrics.MAX_VALUE_CHARS


def test_many_invented_sources_make_a_bounded_number_of_series(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fresh bound of its own: the process-wide one is shared with every other test in this session.
    monkeypatch.setattr(metrics, "source_label", metrics.BoundedLabel(100))
    before = {
        s.labels["source"] for m in REGISTRY.collect() if m.name == "alertmesh_alerts_received" for s in m.samples
    }
    metrics.count_alerts((f"invented-{i}", "generic") for i in range(1000))
    after = {s.labels["source"] for m in REGISTRY.collect() if m.name == "alertmesh_alerts_received" for s in m.samples}
    assert len(after - before) <= 101  # the limit, plus "other"
    assert "other" in after


def test_lag_is_end_minus_committed_else_position_never_negative() -> None:
    a, b, c, d = (TopicPartition("t", p) for p in range(4))
    lag = lag_of(
        end_offsets={a: 10, b: 10, c: 1, d: 5},
        highwaters={a: None, b: None, c: 4, d: None},
        committed={a: 4, b: None, c: 1, d: None},
        positions={a: 7, b: 3, c: 4, d: None},
        group="g",
    )
    # c: Tansu's ListOffsets said 1 for 4 records; the fetch's high watermark says 4. d: nothing to count from.
    assert lag == {("g", "t", 0): 6, ("g", "t", 1): 7, ("g", "t", 2): 3}
    assert lag_of({a: 3}, {a: None}, {a: 5}, {a: None}, "g") == {("g", "t", 0): 0}


def test_results_and_actions_are_counted_with_their_durations() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    before = sample("alertmesh_workflow_duration_seconds_count", workflow="wf-unit", status="failed")
    metrics.count_result("wf-unit", "failed", start, start + timedelta(seconds=2))
    assert sample("alertmesh_workflow_results_total", workflow="wf-unit", status="failed") >= 1
    assert sample("alertmesh_workflow_duration_seconds_count", workflow="wf-unit", status="failed") == before + 1
    metrics.observe_action("unit.action", "succeeded", 0.02)
    assert sample("alertmesh_action_duration_seconds_bucket", action="unit.action", status="succeeded", le="0.025") >= 1


class FlakyPublisher:
    """Fails the first ``failures`` publishes with a transient error, then accepts (as ``ProducerPublisher``)."""

    topic = "unit.topic"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[bytes] = []

    async def publish(
        self,
        message: bytes,
        *,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
        no_confirm: bool = False,
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker away")
        self.sent.append(message)


async def test_each_publish_retry_counts_by_service_and_topic() -> None:
    before = sample("alertmesh_publish_retries_total", service="unit", topic="unit.topic")
    publisher = FlakyPublisher(failures=2)
    outgoing = [Outgoing(None, b"x", {}, "x")]
    await publish_all_durably(publisher, outgoing, Backoff(initial_s=0.001, budget_s=None), service="unit")
    assert publisher.sent == [b"x"]
    assert sample("alertmesh_publish_retries_total", service="unit", topic="unit.topic") == before + 2


async def test_each_dead_letter_counts_by_service_and_stage() -> None:
    before = sample("alertmesh_dead_letters_total", service="unit-service", stage="parse")
    letters = DeadLetters(FlakyPublisher(0), source="alertmesh/unit-service", max_bytes=100_000, backoff=Backoff())
    record = ConsumedRecord(b"poison", {}, "raw", datetime.now(UTC), 0, 1)
    await letters.write(record, "parse", "not JSON")
    assert sample("alertmesh_dead_letters_total", service="unit-service", stage="parse") == before + 1


@pytest.mark.parametrize("path", ["/metrics", "/metrics?name[]=x"])
async def test_the_health_server_serves_metrics(path: str) -> None:
    async def healthy() -> bool:
        return True

    port = free_port()
    server = HealthServer("127.0.0.1", port, healthy)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = (await reader.read()).decode()
        writer.close()
    finally:
        await server.stop()
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK")
    assert f"Content-Type: {metrics.CONTENT_TYPE}" in head
    names = {family.name for family in text_string_to_metric_families(body)}
    assert set(CONTRACT) <= names
