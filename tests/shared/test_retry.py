from collections.abc import Awaitable, Callable

import pytest

from services.shared.retry import Backoff, GaveUp, with_backoff


class FakeTime:
    """Records sleeps and advances a clock by them, so backoff runs instantly."""

    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, list[float]()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _flaky(failures: int) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise ConnectionError("broker down")
        return "ok"

    return calls, attempt


async def test_retries_until_success_with_capped_doubling() -> None:
    time = FakeTime()
    calls, attempt = _flaky(5)
    result = await with_backoff(attempt, "x", Backoff(0.1, 0.5, 60), time.sleep, time.clock)
    assert result == "ok" and len(calls) == 6
    assert time.sleeps == [0.1, 0.2, 0.4, 0.5, 0.5]


async def test_gives_up_after_the_budget() -> None:
    time = FakeTime()
    _, attempt = _flaky(1000)
    with pytest.raises(GaveUp, match=r"publishing trigger k failed .* ConnectionError"):
        await with_backoff(attempt, "publishing trigger k", Backoff(0.1, 1.0, 5.0), time.sleep, time.clock)
    assert sum(time.sleeps) <= 5.0


async def test_without_a_budget_it_never_gives_up() -> None:
    time = FakeTime()
    calls, attempt = _flaky(50)
    assert await with_backoff(attempt, "x", Backoff(0.1, 30.0, None), time.sleep, time.clock) == "ok"
    assert len(calls) == 51
    assert max(time.sleeps) == 30.0
