"""KafkaSettings' consumer group timing: defaults, env names, and the values it refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.shared.consumer_health import MEMBERSHIP_GRACE_S
from services.shared.kafka import KafkaSettings


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
