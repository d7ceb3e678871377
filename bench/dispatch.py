"""Where one action's time goes: Temporal's activity time for it (scheduled to completed, from the workflow's
history), the executor's own timing of the action (its report's ``duration_ms``), and the bare Ray round trip."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

import orjson
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench import ray_probe


async def activity_times_ms(client: Client, workflow_id: str) -> list[float]:
    """Scheduled-to-completed time of every activity the workflow ran (local activities are not in it)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled: dict[int, float] = {}
    times = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.event_time.ToDatetime().timestamp()
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            at = event.event_time.ToDatetime().timestamp()
            times.append((at - scheduled[event.activity_task_completed_event_attributes.scheduled_event_id]) * 1000)
    return times


class RayProbe:
    """``bench.ray_probe`` in its own process: started early (Ray takes a while to start), timed on ``measure``."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the probe process now; its Ray starts while the benchmark runs, ``measure`` waits for it."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.ray_probe",
            str(self._count),
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def measure(self, timeout_s: float) -> list[float]:
        """Wait until its Ray is up, let it time its round trips, and read them."""
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        try:
            ready = await asyncio.wait_for(process.stdout.readline(), timeout=timeout_s)
            if ready.decode().strip() != ray_probe.READY:
                raise RuntimeError(f"bench.ray_probe did not start (exit code {process.returncode})")
            process.stdin.write(b"go\n")
            await process.stdin.drain()
            stdout, _ = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        lines = stdout.decode().strip().splitlines()
        if process.returncode != 0 or not lines:
            raise RuntimeError(f"bench.ray_probe failed with exit code {process.returncode}")
        trips: list[float] = orjson.loads(lines[-1])["round_trips_ms"]
        return trips
