"""Finding a part's process, signalling it, and timing its recovery: kill moment -> the part is healthy again
(a new process answering its readiness probe) and a new result has arrived after that."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass

import psutil

from alertmesh.chaos.observer import Observer
from alertmesh.chaos.stack import Stack

#: The Ray task that runs actions, as Ray titles the worker process while the task runs.
RAY_TASK_TITLE = "ray::run_action_task"
RAY_WORKER = "ray-worker"
#: The parts of the local Ray cluster's nodes (``ray-head``, ``ray-node-2``, ...) that ``--ray-nodes`` starts.
RAY_NODE_PREFIX = "ray-node-"


class NoProcess(LookupError):
    """The target has no process to signal right now (e.g. no Ray worker is running an action)."""


@dataclass
class Fault:
    """One signal sent to one part, and how long the part took to come back."""

    target: str
    signal: str
    planned_s: float | None
    at: float
    pid: int
    healthy_after_s: float | None = None
    recovered_after_s: float | None = None
    exit_code: int | None = None
    note: str = ""
    #: When it was sent, in seconds after the first alert was published.
    moment_s: float | None = None


def ray_task_pids(executor_pid: int) -> list[int]:
    """Processes under the executor running ``run_action_task`` right now."""
    try:
        descendants = psutil.Process(executor_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for process in descendants:
        with contextlib.suppress(psutil.Error):
            if " ".join(process.cmdline()).startswith(RAY_TASK_TITLE):
                found.append(process.pid)
    return found


class Killer:
    """Signals the stack's parts and measures recovery against the observer's results."""

    def __init__(self, stack: Stack, observer: Observer) -> None:
        self._stack = stack
        self._observer = observer
        #: Set when publishing starts: fault moments are reported relative to it.
        self.load_started_at = time.monotonic()

    def pid_of(self, target: str) -> int | None:
        """The pid of ``target``'s part (the executor's for a Ray worker): its current or latest process, None
        before it first started."""
        part = "executor" if target == RAY_WORKER else target
        return self._stack.child(part).pid

    async def healthy(self, target: str) -> bool:
        """Whether ``target``'s part answers its readiness probe within 5 seconds (any error counts as no)."""
        child = self._stack.child("executor" if target == RAY_WORKER else target)
        with contextlib.suppress(Exception):
            return await asyncio.wait_for(child.part.ready(), timeout=5)
        return False

    async def wait_healthy(self, target: str, timeout_s: float) -> bool:
        """Wait until ``target`` is healthy; False if it was not within ``timeout_s`` seconds."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if await self.healthy(target):
                return True
            await asyncio.sleep(0.2)
        return False

    async def find_ray_task(self, timeout_s: float) -> int:
        """A Ray worker busy with an action; waits for one (the chaos action takes a moment, so one is busy)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            executor = self.pid_of("executor")
            if executor is not None and (pids := ray_task_pids(executor)):
                return pids[0]
            await asyncio.sleep(0.05)
        raise NoProcess(f"no {RAY_TASK_TITLE} process within {timeout_s:.0f}s")

    async def signal(self, target: str, sig: signal.Signals, planned_s: float | None = None) -> Fault:
        """Send ``sig`` to ``target`` now."""
        pid = await self.find_ray_task(30) if target == RAY_WORKER else self.pid_of(target)
        if pid is None:
            raise NoProcess(f"{target} has no process")
        if target.startswith(RAY_NODE_PREFIX):
            # A Ray node is ``ray start --block`` and the processes it started (raylet, object store, workers), all
            # in its process group: the whole node dies at once, as when its machine goes.
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
        now = time.monotonic()
        return Fault(target, sig.name, planned_s, now, pid, moment_s=round(now - self.load_started_at, 2))

    async def measure_recovery(self, fault: Fault, timeout_s: float) -> None:
        """Fill in when ``fault.target`` was healthy again (a new process, for a killed part) and when the first
        result after that arrived. Leaves them None if that did not happen within ``timeout_s``."""
        deadline = fault.at + timeout_s
        replaced = fault.target == RAY_WORKER or fault.signal not in ("SIGKILL", "SIGTERM")
        while time.monotonic() < deadline:
            if (replaced or self.pid_of(fault.target) != fault.pid) and await self.healthy(fault.target):
                fault.healthy_after_s = round(time.monotonic() - fault.at, 2)
                break
            await asyncio.sleep(0.2)
        if fault.healthy_after_s is None:
            fault.note = f"not healthy within {timeout_s:.0f}s"
            return
        healthy_at = fault.at + fault.healthy_after_s
        while time.monotonic() < deadline:
            if self._observer.results_since(healthy_at):
                first = next(r.at for r in self._observer.results if r.at >= healthy_at)
                fault.recovered_after_s = round(first - fault.at, 2)
                return
            await asyncio.sleep(0.2)
        fault.note = f"healthy after {fault.healthy_after_s}s but no new result within {timeout_s:.0f}s"
