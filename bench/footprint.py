"""Memory of the whole embedded stack: the resident set of every supervisor child and all its descendants
(Ray's raylet, GCS and workers are the executor's descendants)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import psutil

MB = 1024 * 1024


def stack_rss_mb(pids: Iterable[int]) -> float:
    """Sum of RSS over the processes and their descendants (each counted once), in MiB."""
    seen: dict[int, int] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    seen[process.pid] = process.memory_info().rss
    return sum(seen.values()) / MB


@dataclass
class RssSampler:
    """Samples the stack's RSS every ``every_s`` while running; keeps the samples."""

    pids: list[int]
    every_s: float = 1.0
    samples: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling in the background (on the running event loop); ``stop`` ends it."""
        self._task = asyncio.create_task(self._run(), name="bench-rss")

    async def stop(self) -> None:
        """Stop sampling; the samples taken are kept. Does nothing if it was never started."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            self.samples.append(await asyncio.to_thread(stack_rss_mb, self.pids))
            await asyncio.sleep(self.every_s)
