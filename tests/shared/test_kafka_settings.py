"""KafkaSettings' consumer group timing and producer batches: defaults, env names, and the values it refuses; the
producer's partitioner places keys as every Kafka client does."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.shared.consumer_health import MEMBERSHIP_GRACE_S
from services.shared.kafka import KafkaSettings, default_partition, murmur2


def test_defaults_let_a_restarted_consumer_rejoin_within_seconds() -> None:
    settings = KafkaSettings()
    assert (settings.session_timeout_ms, settings.heartbeat_interval_ms, settings.rebalance_timeout_ms) == (
        6_000,
        1_000,
        6_000,
    )
    assert settings.max_poll_interval_ms == 300_000
    assert settings.rejoin_s() == 12.0


def test_timing_comes_from_kafka_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SESSION_TIMEOUT_MS", "9000")
    monkeypatch.setenv("KAFKA_HEARTBEAT_INTERVAL_MS", "2000")
    monkeypatch.setenv("KAFKA_REBALANCE_TIMEOUT_MS", "7000")
    monkeypatch.setenv("KAFKA_MAX_POLL_INTERVAL_MS", "600000")
    settings = KafkaSettings()
    assert (
        settings.session_timeout_ms,
        settings.heartbeat_interval_ms,
        settings.rebalance_timeout_ms,
        settings.max_poll_interval_ms,
    ) == (9_000, 2_000, 7_000, 600_000)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"session_timeout_ms": 3_000}, "greater than or equal to 6000"),
        ({"heartbeat_interval_ms": 2_500}, "at most a third of KAFKA_SESSION_TIMEOUT_MS"),
        # A rejoin that could outlast the health watchdog's grace would get a healthy service restarted.
        ({"session_timeout_ms": 20_000, "rebalance_timeout_ms": 15_000}, f"{MEMBERSHIP_GRACE_S:g} s"),
        # A handler waiting out an outage must not be dropped from its group after a minute.
        ({"max_poll_interval_ms": 30_000}, "greater than or equal to 60000"),
    ],
)
def test_unsafe_timing_is_refused(values: dict[str, int], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        KafkaSettings(**values)


@given(st.binary(max_size=300))
def test_murmur2_is_kafkas(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


@given(st.binary(min_size=1, max_size=80), st.integers(1, 12))
def test_keyed_records_land_where_any_kafka_client_puts_them(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert default_partition(key, every, every) == DefaultPartitioner()(key, every, every)


def test_a_producer_batch_never_exceeds_the_message_limit() -> None:
    assert KafkaSettings().producer_batch_size() == 262_144
    assert KafkaSettings(max_message_bytes=100_000).producer_batch_size() == 100_000
    assert KafkaSettings(producer_batch_bytes=65_536).producer_batch_size() == 65_536
    with pytest.raises(ValidationError):
        KafkaSettings(producer_batch_bytes=1_000)
