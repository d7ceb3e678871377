from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    RecordTooLargeError,
)
from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError
from temporalio.service import RPCError, RPCStatusCode

from services.shared.backoff import Backoff, GaveUp, PermanentError, is_permanent, with_backoff


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


async def test_a_permanent_error_is_raised_at_once_not_retried() -> None:
    time = FakeTime()
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise MessageSizeTooLargeError("record too large")

    with pytest.raises(MessageSizeTooLargeError):
        await with_backoff(attempt, "x", Backoff(0.1, 1.0, None), time.sleep, time.clock)
    assert len(calls) == 1 and time.sleeps == []


def _rpc(status: RPCStatusCode, message: str = "") -> RPCError:
    return RPCError(message, status, b"")


@pytest.mark.parametrize(
    "error",
    [
        PermanentError("bad input"),
        MessageSizeTooLargeError(),
        RecordTooLargeError(),
        orjson.JSONEncodeError("Recursion limit reached"),
        _rpc(RPCStatusCode.INVALID_ARGUMENT, "WorkflowId exceeds maximum allowed length (1001/1000)"),
        _rpc(RPCStatusCode.INVALID_ARGUMENT, "Blob data size exceeds limit."),
        _rpc(RPCStatusCode.RESOURCE_EXHAUSTED, "grpc: received message after decompression larger than max 4194304"),
    ],
    ids=repr,
)
def test_permanent_errors(error: Exception) -> None:
    assert is_permanent(error)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionError("refused"),
        TimeoutError(),
        KafkaConnectionError(),
        KafkaTimeoutError(),
        NotLeaderForPartitionError(),
        _rpc(RPCStatusCode.UNAVAILABLE, "connection refused"),
        _rpc(RPCStatusCode.DEADLINE_EXCEEDED, "timeout"),
        _rpc(RPCStatusCode.RESOURCE_EXHAUSTED, "namespace rate limit exceeded"),
        ValueError("anything else"),
    ],
    ids=repr,
)
def test_transient_errors(error: Exception) -> None:
    assert not is_permanent(error)


def test_pydantic_serialization_errors_are_permanent() -> None:
    deep: dict[str, object] = {}
    for _ in range(300):
        deep = {"a": deep}
    with pytest.raises(PydanticSerializationError) as caught:
        TypeAdapter(dict[str, Any]).dump_json(deep)
    assert is_permanent(caught.value)
