"""Retry with capped exponential backoff, and the one place that says which errors are worth retrying.

Used wherever the next durable hop must succeed before an offset may be committed. A transient error (broker or
Temporal unavailable, a timeout) makes the partition wait, nothing is skipped. A permanent error (the input is too
large, cannot be serialized, or the server refuses it as invalid) fails the same way on every attempt: retrying it
would hold the partition forever, so it is raised at once and the caller turns it into a dead letter.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import orjson
from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError
from pydantic_core import PydanticSerializationError

log = logging.getLogger(__name__)
T = TypeVar("T")


class PermanentError(Exception):
    """Raised by our own code for input that will fail the same way however often it is retried."""


#: Errors that are a property of the input, not of the moment: too large for Kafka, or not serializable.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    PermanentError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    orjson.JSONEncodeError,
    PydanticSerializationError,
)
#: gRPC says this when a request is larger than the server's frame limit (Temporal answers RESOURCE_EXHAUSTED,
#: which otherwise means rate limiting, a transient condition).
_GRPC_TOO_LARGE = "larger than max"


def is_permanent(error: BaseException) -> bool:
    """True when retrying ``error`` cannot help: the caller should dead-letter the input instead."""
    return isinstance(error, PERMANENT_ERRORS) or _temporal_refused(error)


def _temporal_refused(error: BaseException) -> bool:
    """Temporal refused the request itself (INVALID_ARGUMENT: id too long or empty, input over the blob limit).

    temporalio is looked up, not imported: the ingest image has no Temporal SDK, and a Temporal ``RPCError``
    can only exist in a process that has imported ``temporalio.service``.
    """
    service = sys.modules.get("temporalio.service")
    if service is None or not isinstance(error, service.RPCError):
        return False
    status = service.RPCStatusCode
    if error.status == status.INVALID_ARGUMENT:
        return True
    return bool(error.status == status.RESOURCE_EXHAUSTED and _GRPC_TOO_LARGE in str(error))


@dataclass(frozen=True)
class Backoff:
    """Delays start at ``initial_s`` and double up to ``max_s``; give up once ``budget_s`` would be exceeded
    (``None``: never give up)."""

    initial_s: float = 0.1
    max_s: float = 5.0
    budget_s: float | None = 60.0

    def delays(self) -> Iterator[float]:
        """The waits between attempts, endless: ``initial_s``, then doubling up to ``max_s``. Keeping to the budget
        is the caller's part (it knows its clock); a fresh iterator starts over from ``initial_s``."""
        delay = self.initial_s
        while True:
            yield delay
            delay = min(delay * 2, self.max_s)


class GaveUp(RuntimeError):
    """The operation kept failing for the whole retry budget; the caller must not commit its input."""


async def with_backoff(
    attempt: Callable[[], Awaitable[T]],
    what: str,
    backoff: Backoff,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """Await ``attempt()`` until it succeeds, sleeping between failures; raises ``GaveUp`` past the budget.

    A permanent error (``is_permanent``) is raised at once, unchanged. Any other exception counts as transient:
    an outage surfaces as many different errors, and giving up early would only rewind and redo the same work.
    Outcomes that are not failures (e.g. "already started") belong inside ``attempt``. Cancellation is not caught
    (it is not an ``Exception``). ``on_retry`` is called before each retry (the publish-retry counters).
    """
    deadline = None if backoff.budget_s is None else clock() + backoff.budget_s
    delays = backoff.delays()
    failures = 0
    while True:
        try:
            return await attempt()
        except Exception as error:
            if is_permanent(error):
                raise
            failures += 1
            delay = next(delays)
            if deadline is not None and clock() + delay > deadline:
                raise GaveUp(f"{what} failed {failures} times; last error: {error!r}") from error
            log.warning("%s failed (%r); retry %d in %.2fs", what, error, failures, delay)
            if on_retry is not None:
                on_retry()
            await sleep(delay)
