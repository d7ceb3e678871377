"""Retry with capped exponential backoff: how every service waits out a slow or absent Kafka or Temporal.

Used wherever the next durable hop must succeed before an offset may be committed: the partition waits,
nothing is skipped.
"""

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
    """Delays start at ``initial_s`` and double up to ``max_s``; give up once ``budget_s`` would be exceeded
    (``None``: never give up)."""

    initial_s: float = 0.1
    max_s: float = 5.0
    budget_s: float | None = 60.0


class GaveUp(RuntimeError):
    """The operation kept failing for the whole retry budget; the caller must not commit its input."""


async def with_backoff(
    attempt: Callable[[], Awaitable[T]],
    what: str,
    backoff: Backoff,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Await ``attempt()`` until it succeeds, sleeping between failures; raises ``GaveUp`` past the budget.

    Any exception counts as transient: an outage surfaces as many different errors, and giving up early would
    only rewind and redo the same work. Outcomes that are not failures (e.g. "already started") belong inside
    ``attempt``. Cancellation is not caught (it is not an ``Exception``).
    """
    deadline = None if backoff.budget_s is None else clock() + backoff.budget_s
    delay = backoff.initial_s
    failures = 0
    while True:
        try:
            return await attempt()
        except Exception as error:
            failures += 1
            if deadline is not None and clock() + delay > deadline:
                raise GaveUp(f"{what} failed {failures} times; last error: {error!r}") from error
            log.warning("%s failed (%r); retry %d in %.2fs", what, error, failures, delay)
            await sleep(delay)
            delay = min(delay * 2, backoff.max_s)
