"""Retry a publish with capped exponential backoff: the partition waits, nothing is skipped."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delays start at ``initial_s`` and double up to ``max_s``; give up once ``budget_s`` would be exceeded."""

    initial_s: float = 0.1
    max_s: float = 5.0
    budget_s: float = 60.0


class PublishFailed(RuntimeError):
    """Publishing kept failing for the whole retry budget; the caller must not commit the input."""


async def with_backoff(
    attempt: Callable[[], Awaitable[T]],
    what: str,
    backoff: Backoff,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Await ``attempt()`` until it succeeds, sleeping between failures; raises ``PublishFailed`` at the end.

    Any exception counts as transient: a Kafka outage surfaces as many different errors, and giving up early
    would only rewind and redo the same work. Cancellation is not caught (it is not an ``Exception``).
    """
    deadline = clock() + backoff.budget_s
    delay = backoff.initial_s
    failures = 0
    while True:
        try:
            return await attempt()
        except Exception as error:
            failures += 1
            if clock() + delay > deadline:
                raise PublishFailed(f"publishing {what} failed {failures} times; last error: {error!r}") from error
            log.warning("publishing %s failed (%r); retry %d in %.2fs", what, error, failures, delay)
            await sleep(delay)
            delay = min(delay * 2, backoff.max_s)
