"""The executor's health probe: healthy while Ray is initialized and the Temporal frontend answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import ray
from temporalio.client import Client


def health_probe(client: Client) -> Callable[[], Awaitable[bool]]:
    """A probe for ``HealthServer``: Ray up in this process, and Temporal's health check passes."""

    async def probe() -> bool:
        if not ray.is_initialized():
            return False
        return await client.service_client.check_health(timeout=timedelta(seconds=3))

    return probe
