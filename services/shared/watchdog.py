"""Watch a service's inner parts (a consumer task, a Temporal worker, the Ray connection); when one dies, the
service says so on ``/healthz`` (503) and exits non-zero, so its supervisor (``alertmesh up``, compose,
Kubernetes) restarts it. A process that keeps answering "ok" while its consumer is gone would otherwise sit there
forever, holding its partitions' offsets still.

Each service lists its parts as ``Vital`` checks, serves ``watchdog.guard(probe)`` on ``/healthz``, waits in
``until_stopped_or_dead`` (a stop signal or a dead part), shuts down, and, if a part died, ``exit_dead`` ends the
process with status 1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from services.shared import tracing

log = logging.getLogger(__name__)

#: A check answers None while the part is alive, else what is wrong with it.
Check = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True)
class Vital:
    """One inner part. It counts as dead after two failed checks in a row (one interval apart: no exit on a
    single glimpse, and meanwhile ``/healthz`` already answers 503) and at least ``grace_s`` after the first
    (a consumer group rebalancing, a connection being re-established)."""

    name: str
    check: Check
    grace_s: float = 0.0
    #: A check that takes longer than this counts as a failed one (a hung call to a dead peer).
    timeout_s: float = 5.0


class Watchdog:
    """Runs every vital's check each ``interval_s``; ``death`` is set, once, by the first part that died."""

    def __init__(self, vitals: Sequence[Vital] = (), interval_s: float = 1.0) -> None:
        self._vitals = list(vitals)
        self._interval_s = interval_s
        self._failing_since: dict[str, float] = {}
        self.death: str | None = None

    def add(self, *vitals: Vital) -> None:
        """Watch more parts (a service adds each as it starts)."""
        self._vitals.extend(vitals)

    async def watch(self) -> str:
        """Check until a part dies; return what died and why."""
        while self.death is None:
            await self.check_once()
            if self.death is None:
                await asyncio.sleep(self._interval_s)
        return self.death

    async def check_once(self) -> None:
        """Run every check once; declare the first part dead that failed again at least ``grace_s`` after its first
        failure in a row. A part that passes starts over."""
        for vital in list(self._vitals):
            problem = await _run_check(vital)
            if problem is None:
                if self._failing_since.pop(vital.name, None) is not None:
                    log.info("%s is healthy again", vital.name)
                continue
            since = self._failing_since.get(vital.name)
            if since is not None and time.monotonic() - since >= vital.grace_s:
                self._declare_dead(f"{vital.name}: {problem}")
                return
            if since is None:  # logged once per streak: a rebalance should not flood the log
                self._failing_since[vital.name] = time.monotonic()
                log.warning("%s looks unhealthy: %s", vital.name, problem)

    def _declare_dead(self, reason: str) -> None:
        self.death = reason
        log.error(
            "inner part died: %s; reporting unhealthy and exiting so the supervisor restarts this service", reason
        )

    def guard(self, probe: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
        """``probe``, but False while a part fails its check (also during its grace) or once it died (the
        process is then on its way out)."""

        async def guarded() -> bool:
            return self.death is None and not self._failing_since and await probe()

        return guarded


async def _run_check(vital: Vital) -> str | None:
    try:
        return await asyncio.wait_for(vital.check(), vital.timeout_s)
    except TimeoutError:
        return f"no answer within {vital.timeout_s:.0f}s"
    except Exception as error:  # a check that raises reports a broken part, never crashes the watchdog
        return f"check failed: {error!r}"


async def until_stopped_or_dead(stop: asyncio.Event, watchdog: Watchdog) -> str | None:
    """Run the watchdog until ``stop`` is set (None: a clean stop) or a part dies (its reason)."""
    stopping = asyncio.create_task(stop.wait(), name="stop-signal")
    watching = asyncio.create_task(watchdog.watch(), name="watchdog")
    try:
        await asyncio.wait({stopping, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (stopping, watching):
            task.cancel()
    return watchdog.death


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT: how every service is asked to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def task_alive(task: Callable[[], asyncio.Task[Any] | None]) -> Check:
    """A check that the asyncio task ``task()`` returns is still running. These tasks are meant to run as long
    as the service, so one that ended is dead, whatever its outcome."""

    async def check() -> str | None:
        current = task()
        if current is None:
            return "not started"
        return None if not current.done() else "ended" + task_outcome(current)

    return check


def task_outcome(task: asyncio.Task[Any] | asyncio.Future[Any]) -> str:
    """How a finished task ended, as a suffix for a message ("" while it runs or if it returned)."""
    if not task.done():
        return ""
    if task.cancelled():
        return " (cancelled)"
    error = task.exception()
    return f" ({error!r})" if error is not None else ""


def run_process(main: Callable[[], object]) -> NoReturn:
    """Run a service's ``main`` and end the process with its status, skipping interpreter finalization.

    By then the service has stopped everything it started. Finalizing anyway lets the Temporal SDK's native
    threads call into a half-torn-down interpreter: about one clean stop in six ended in "Fatal Python error:
    PyGILState_Release" and SIGABRT instead of status 0 (seen on this machine, before and after the watchdog)."""
    code: int
    try:
        main()
        code = 0
    except SystemExit as exited:
        if exited.code is None or isinstance(exited.code, int):
            code = exited.code or 0
        else:  # a message, as Python itself would print it: status 1
            print(exited.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    tracing.shutdown()  # the spans of the last moments (the final result's publish) are written, not lost
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def exit_dead(service: str, reason: str) -> None:
    """End the process with status 1 saying why (after the service shut down what it could)."""
    raise SystemExit(f"{service}: exiting because an inner part died: {reason}")
