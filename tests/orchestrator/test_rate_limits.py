"""The per-route token buckets and the setting that configures them (with a virtual clock)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.rate_limits import RateLimit, RouteLimiter, parse_rate_limits


def test_limits_are_parsed_with_a_default_burst_and_a_catch_all() -> None:
    assert parse_rate_limits(" triage=5/10, slow=0.5 ,*=50") == {
        "triage": RateLimit(5, 10),
        "slow": RateLimit(0.5, 1),
        "*": RateLimit(50, 50),
    }
    assert parse_rate_limits("") == {}


@pytest.mark.parametrize(
    "text", ["triage", "=5", "triage=", "triage=fast", "triage=5/x", "triage=0", "triage=5/0", "a=1,a=2", "a=nan"]
)
def test_bad_limits_are_refused_by_the_settings(text: str) -> None:
    with pytest.raises(ValidationError, match="rate limit"):
        OrchestratorSettings(rate_limits=text)


def test_a_limit_one_batch_could_outlast_the_poll_interval_with_is_refused() -> None:
    # 100 records at 0.1/s: 1000 s, past half of the 300 s max.poll.interval.
    with pytest.raises(ValidationError, match="KAFKA_MAX_POLL_INTERVAL_MS"):
        OrchestratorSettings(rate_limits="slow=0.1", batch_max_records=100)
    assert OrchestratorSettings(rate_limits="slow=1", batch_max_records=100).route_limits() == {"slow": RateLimit(1, 1)}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


async def test_a_burst_passes_then_starts_are_spaced_at_the_rate_per_route() -> None:
    clock = Clock()
    limiter = RouteLimiter(parse_rate_limits("triage=2/3"), clock=clock, sleep=clock.sleep)
    for _ in range(5):
        await limiter.acquire("triage")
    await limiter.acquire("unlimited")
    assert clock.slept == [0.5, 0.5]
    assert (limiter.throttled, limiter.waited_s) == (2, 1.0)
    clock.now += 10  # a quiet spell refills the burst, never past it
    for _ in range(4):
        await limiter.acquire("triage")
    assert clock.slept == [0.5, 0.5, 0.5]


async def test_the_catch_all_limits_each_route_on_its_own() -> None:
    clock = Clock()
    limiter = RouteLimiter(parse_rate_limits("*=1/1"), clock=clock, sleep=clock.sleep)
    await limiter.acquire("a")
    await limiter.acquire("b")
    assert clock.slept == []
    await limiter.acquire("a")
    assert clock.slept == [1.0]
