"""Drives a service's real run loop until an inner part is broken, watching ``/healthz`` on the way: what the
health tests of every service assert on (a 503 seen, then an exit with a message)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Death:
    #: The SystemExit code the service ended with (a message means status 1; None if it returned).
    code: int | str | None
    #: Whether /healthz answered 503 between the break and the exit.
    seen_503: bool


async def break_and_watch(
    service: Coroutine[Any, Any, None], health_port: int, breaking: Callable[[], Awaitable[None]]
) -> Death:
    """Run ``service`` until healthy, call ``breaking``, then watch /healthz until the service ends."""
    task = asyncio.create_task(_exit_code_of(service))
    url = f"http://127.0.0.1:{health_port}/healthz"
    async with httpx.AsyncClient(timeout=5) as http:
        deadline = time.monotonic() + 60
        while not await _answers(http, url, 200):
            assert not task.done(), task
            assert time.monotonic() < deadline, "the service never became healthy"
            await asyncio.sleep(0.2)
        await breaking()
        seen_503 = False
        async with asyncio.timeout(30):
            while not task.done():
                seen_503 = seen_503 or await _answers(http, url, 503)
                await asyncio.sleep(0.05)
    return Death(await task, seen_503)


async def _exit_code_of(service: Coroutine[Any, Any, None]) -> int | str | None:
    # Caught inside the task: a SystemExit leaving a task would stop the test's event loop.
    try:
        await service
    except SystemExit as exited:
        return exited.code
    return None


async def _answers(http: httpx.AsyncClient, url: str, status: int) -> bool:
    try:
        return (await http.get(url)).status_code == status
    except httpx.TransportError:
        return False
