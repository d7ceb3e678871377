"""Per-route limits on workflow starts: a token bucket per routing rule (``ORCHESTRATOR_RATE_LIMITS``).

``route=rate/burst,...``: ``rate`` starts a second on average (a float), at most ``burst`` at once after a quiet
spell (default: the rate rounded up, at least 1); ``*`` is the limit of every route not named. A start over the
limit is not dropped nor reordered: the trigger consumer waits for its token before starting it, in the batch's
order, so the batch (and the partition behind it, paused: ``backpressure``) is back-pressured. The settings refuse
a limit so low that one batch of a single route could take more than half of ``KAFKA_MAX_POLL_INTERVAL_MS``: a
batch's offsets stay uncommitted until it ends, so a rebalance or restart meanwhile redoes it (idempotently, but
all of it), and a consumer that is not polled for that long leaves its group.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

#: The limit of every route not named.
ANY_ROUTE = "*"


@dataclass(frozen=True)
class RateLimit:
    """``rate`` starts a second, ``burst`` at once."""

    rate: float
    burst: int


def parse_rate_limits(text: str) -> dict[str, RateLimit]:
    """``"triage=5/10,*=50"`` -> limits by route; ValueError naming the entry that is wrong."""
    limits: dict[str, RateLimit] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        route, equals, spec = entry.partition("=")
        route, spec = route.strip(), spec.strip()
        if not equals or not route or not spec:
            raise ValueError(f"rate limit {entry!r}: expected route=rate or route=rate/burst")
        rate_text, slash, burst_text = spec.partition("/")
        try:
            rate = float(rate_text)
            burst = int(burst_text) if slash else max(1, math.ceil(rate))
        except ValueError:
            raise ValueError(f"rate limit {entry!r}: rate must be a number and burst a whole number") from None
        if not (math.isfinite(rate) and rate > 0) or burst < 1:
            raise ValueError(f"rate limit {entry!r}: rate must be above 0 and burst at least 1")
        if route in limits:
            raise ValueError(f"rate limit {entry!r}: route {route!r} is limited twice")
        limits[route] = RateLimit(rate, burst)
    return limits


@dataclass
class _Bucket:
    limit: RateLimit
    tokens: float
    updated: float

    def reserve(self, now: float) -> float:
        """Take a token (going into debt if there is none); seconds until it is really there."""
        self.tokens = min(float(self.limit.burst), self.tokens + (now - self.updated) * self.limit.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.limit.rate


@dataclass
class RouteLimiter:
    """Waits, per route, until a start is within its limit. Not thread-safe; call ``acquire`` in the order the
    starts must happen (each caller's wait is reserved when it calls, so later calls wait longer)."""

    limits: dict[str, RateLimit]
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    #: Starts that had to wait, and the seconds waited in all (for logs and figures).
    throttled: int = 0
    waited_s: float = 0.0
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    async def acquire(self, route: str) -> None:
        """Return once a start of ``route`` is within its limit (its own, else ``*``'s; at once when neither is
        set). Every route has a bucket of its own, even one under ``*``'s limit; the token is taken at the call."""
        limit = self.limits.get(route) or self.limits.get(ANY_ROUTE)
        if limit is None:
            return
        bucket = self._buckets.get(route)
        if bucket is None:
            bucket = self._buckets[route] = _Bucket(limit, float(limit.burst), self.clock())
        wait = bucket.reserve(self.clock())
        if wait > 0:
            self.throttled += 1
            self.waited_s += wait
            await self.sleep(wait)
