"""The executor's health: the probe behind ``/healthz`` and the Ray vital its watchdog checks.

``ray.is_initialized()`` stays True after local Ray's GCS or raylet died, or a remote cluster went away, so the
vital asks the cluster itself: ``ray.nodes()`` is a round trip to the GCS (through the Ray client server for
``ray://`` addresses) and lists whether any node is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import ray
from temporalio.client import Client

from services.shared.watchdog import Vital

#: A Ray cluster that does not answer for this long is gone (a GCS restart with fault tolerance takes seconds).
RAY_GRACE_S = 10.0
RAY_CALL_TIMEOUT_S = 5.0


def health_probe(client: Client) -> Callable[[], Awaitable[bool]]:
    """A probe for ``HealthServer``: Ray up in this process, and Temporal's health check passes."""

    async def probe() -> bool:
        if not ray.is_initialized():
            return False
        return await client.service_client.check_health(timeout=timedelta(seconds=3))

    return probe


class RayCluster:
    """Check: the cluster answers and has a live node. A call to a dead GCS can block for minutes in Ray's
    own retries, so at most one call is in flight: while it hangs, every check reports it."""

    def __init__(self) -> None:
        self._pending: asyncio.Future[list[dict[str, Any]]] | None = None

    async def __call__(self) -> str | None:
        """None while the cluster answers and has a live node, else what is wrong (a check never raises)."""
        if not ray.is_initialized():
            return "Ray is not initialized"
        if self._pending is None:
            self._pending = _in_daemon_thread(ray.nodes)
        try:
            nodes = await asyncio.wait_for(asyncio.shield(self._pending), RAY_CALL_TIMEOUT_S)
        except TimeoutError:
            return f"the Ray cluster did not answer within {RAY_CALL_TIMEOUT_S:.0f}s"
        except Exception as error:
            self._pending = None
            return f"the Ray cluster call failed: {error!r}"
        self._pending = None
        if not any(node.get("Alive") for node in nodes):
            return "the Ray cluster has no live node"
        return None


def _in_daemon_thread(call: Callable[[], list[dict[str, Any]]]) -> asyncio.Future[list[dict[str, Any]]]:
    """``call()`` in a daemon thread: unlike ``asyncio.to_thread``, a call hung on a dead cluster can neither
    block the process's exit (asyncio.run joins its executor's threads) nor use up the executor's threads."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[list[dict[str, Any]]] = loop.create_future()

    def settle(result: list[dict[str, Any]] | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result or [])

    def target() -> None:
        try:
            result, error = call(), None
        except Exception as failure:
            result, error = None, failure
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=target, name="ray-health-call", daemon=True).start()
    return future


def ray_vital() -> Vital:
    """The watchdog's vital for the Ray cluster: dead once it has not answered for ``RAY_GRACE_S`` seconds."""
    return Vital("Ray cluster", RayCluster(), grace_s=RAY_GRACE_S, timeout_s=RAY_CALL_TIMEOUT_S + 1)
