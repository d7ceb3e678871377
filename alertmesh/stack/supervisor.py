"""Run child processes in the foreground: start in order, wait until each is ready, restart crashes with backoff,
and stop everything (process groups included) on Ctrl-C or SIGTERM.

Each child gets its own process group, so whatever a service spawned (Ray's raylet and workers, for one) can be
swept up once the service itself has stopped, and on Linux a parent-death signal, so even a SIGKILLed supervisor
leaves no orphans behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.shared.backoff import Backoff

log = logging.getLogger("alertmesh")

Probe = Callable[[], Awaitable[bool]]
#: Called after a child started, exited unplanned or stopped (e.g. to rewrite ``mesh.json``).
OnChange = Callable[[], None]

#: Backoff between restarts of a crashing child: doubles from the first delay up to the cap, and starts over once
#: a restarted child is ready again (it recovered; a later crash is a new incident, not the same crash looping).
#: A child that crashes before it becomes ready keeps backing off. No budget: a supervisor never gives up a part.
RESTART_BACKOFF = Backoff(initial_s=1.0, max_s=30.0, budget_s=None)
#: How long a child may take to exit after SIGTERM before its whole group is killed.
STOP_GRACE_S = 15.0


class StartupError(RuntimeError):
    """A part did not become ready; the message says which one and why."""


@dataclass
class Part:
    """One child process and how to tell that it is ready."""

    name: str
    command: list[str]
    ready: Probe
    env: dict[str, str] = field(default_factory=dict)
    ready_timeout_s: float = 60.0
    # Drop the output the part prints while being stopped (Temporal logs its own graceful shutdown as errors).
    quiet_on_stop: bool = False
    # Runs once the part is ready, after every start and restart (e.g. create the topics a fresh broker lacks).
    after_ready: Callable[[], Awaitable[None]] | None = None
    # The child's umask (None: the supervisor's own). ``alertmesh up`` gives every part 0o077, so whatever a server
    # or service creates (Temporal's database, Ray's session files, spans, stored results) is the user's alone.
    umask: int | None = None


def _die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGTERM it if the supervisor dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Child:
    """A running part: its process, its output relay and its restart loop."""

    def __init__(self, part: Part, output: Callable[[str, str], None], on_change: OnChange | None = None) -> None:
        self.part = part
        self._output = output
        self._on_change = on_change
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None
        self._relays: set[asyncio.Task[None]] = set()
        self.restarts = 0
        #: Exit codes of the child's unplanned exits, oldest first (a stop asked by ``stop()`` is not one).
        self.exit_codes: list[int] = []
        #: When the current (or last) process was spawned.
        self.started_at: datetime | None = None

    @property
    def pid(self) -> int | None:
        """The running process's pid, or None before the first start and after it ended."""
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        """Whether the part's process is alive now."""
        return self._process is not None and self._process.returncode is None

    def _changed(self) -> None:
        if self._on_change is not None:
            try:
                self._on_change()
            except Exception:  # reporting the state must never stop the supervision itself
                log.exception("could not record the state of %s", self.part.name)

    async def start(self) -> None:
        """Spawn the part and keep it running: a crash is restarted with backoff until ``stop``."""
        await self._spawn()
        self._watch = asyncio.create_task(self._keep_running(), name=f"watch-{self.part.name}")

    async def wait_ready(self) -> None:
        """Wait until the part's probe answers, then run its ``after_ready``; ``StartupError`` if it exits or
        times out."""
        deadline = time.monotonic() + self.part.ready_timeout_s
        while not await self._probe():
            if self._process is not None and self._process.returncode is not None:
                raise StartupError(f"{self.part.name} exited with code {self._process.returncode} while starting")
            if time.monotonic() > deadline:
                raise StartupError(f"{self.part.name} not ready after {self.part.ready_timeout_s:.0f}s")
            await asyncio.sleep(0.1)
        if self.part.after_ready is not None:
            await self.part.after_ready()

    async def stop(self) -> None:
        """Stop restarting the part and end its process (SIGTERM, then SIGKILL after its grace period)."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._terminate()
        self._changed()

    async def _probe(self) -> bool:
        try:
            return await asyncio.wait_for(self.part.ready(), timeout=5)
        except Exception:
            return False

    async def _spawn(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self.part.command,
            env={**os.environ, **self.part.env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            umask=-1 if self.part.umask is None else self.part.umask,  # -1: subprocess's "leave it as it is"
        )
        self.started_at = datetime.now(UTC)
        log.info("started %s (pid %d)", self.part.name, self._process.pid)
        self._changed()
        relay = asyncio.create_task(self._relay(self._process), name=f"relay-{self.part.name}")
        self._relays.add(relay)  # keep a reference: the loop holds tasks only weakly
        relay.add_done_callback(self._relays.discard)

    async def _relay(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            if self._stopping and self.part.quiet_on_stop:
                continue
            self._output(self.part.name, line.decode(errors="replace").rstrip())

    async def _keep_running(self) -> None:
        delays = RESTART_BACKOFF.delays()
        while True:
            assert self._process is not None
            code = await _exit_code(self._process)
            if self._stopping:
                return
            self.exit_codes.append(code)
            self.restarts += 1
            self._changed()
            delay = next(delays)
            log.warning("%s exited with code %s; restart #%d in %.1fs", self.part.name, code, self.restarts, delay)
            await self._kill_group(signal.SIGKILL)  # leftovers of the crashed child (e.g. Ray workers)
            await asyncio.sleep(delay)
            await self._spawn()
            try:
                await self.wait_ready()
                log.info("%s is ready again", self.part.name)
                delays = RESTART_BACKOFF.delays()
            except Exception as error:  # keep supervising: if it exited, the loop restarts it again
                log.error("%s restarted but is not ready: %s", self.part.name, error)

    async def _terminate(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            await self._kill_group(signal.SIGKILL)
            return
        # SIGTERM to the leader only: a service stops what it started in order (the executor shuts Ray down;
        # Ray's own processes, signalled at the same time, would stall that for seconds). The group is killed after.
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(_exit_code(process), timeout=STOP_GRACE_S)
        except TimeoutError:
            log.warning("%s did not stop within %.0fs; killing it", self.part.name, STOP_GRACE_S)
        await self._kill_group(signal.SIGKILL)
        await _exit_code(process)
        log.info("stopped %s", self.part.name)

    async def _kill_group(self, sig: signal.Signals) -> None:
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, sig)


async def _exit_code(process: asyncio.subprocess.Process) -> int:
    """The exit code as soon as the process itself ended. ``process.wait()`` also waits until every holder of
    its stdout pipe closed it, and a service's own children (Ray's processes) inherit that pipe."""
    while process.returncode is None:
        await asyncio.sleep(0.05)
    return process.returncode


def print_output(name: str, line: str) -> None:
    """Print one output line of a part, prefixed with its name as ``up`` shows it."""
    # A JSON log line (ALERTMESH_LOG_FORMAT=json) names its service itself and must stay one JSON object.
    print(line if line.startswith("{") and line.endswith("}") else f"{name:<13}| {line}", flush=True)


class Supervisor:
    """Starts parts in stages (each stage's parts in parallel), stops them in reverse order."""

    def __init__(self, output: Callable[[str, str], None] = print_output, on_change: OnChange | None = None) -> None:
        self._output = output
        self.on_change = on_change
        self.stages: list[list[Child]] = []

    @property
    def children(self) -> list[Child]:
        """Every supervised part, in the order the stages started."""
        return [child for stage in self.stages for child in stage]

    async def start_stage(self, parts: list[Part]) -> None:
        """Start the parts of one stage, in parallel; the stages are stopped in reverse order."""
        stage = [Child(part, self._output, self.on_change) for part in parts]
        self.stages.append(stage)
        for child in stage:
            await child.start()
        await asyncio.gather(*(child.wait_ready() for child in stage))
        for child in stage:
            log.info("%s is ready", child.part.name)

    async def stop(self) -> None:
        """Services first, servers last: consumers stop before the broker and Temporal they talk to."""
        for stage in reversed(self.stages):
            await asyncio.gather(*(child.stop() for child in stage))
