"""The faults each scenario injects while the load flows, recorded as Fault entries (with recovery times)."""

from __future__ import annotations

import asyncio
import functools
import signal
import time
from collections.abc import Callable

from aiokafka import TopicPartition

from alertmesh.chaos.killer import Fault, Killer, NoProcess
from alertmesh.chaos.load import LoadGenerator
from alertmesh.chaos.observer import Observer
from alertmesh.chaos.options import ChaosOptions
from alertmesh.chaos.partitions import (
    GroupWatch,
    Reassignment,
    assigned_partitions,
    groups_of,
    measure,
    reassign_limit_s,
)
from alertmesh.chaos.schedule import Kill, kill_schedule, replica_kills
from alertmesh.chaos.stack import Stack
from alertmesh.stack.mesh import kafka_settings
from alertmesh.stack.replicas import service_of
from alertmesh.views.progress import clear_line
from services.ingest.config import IngestSettings
from services.orchestrator.config import OrchestratorSettings
from services.shared.kafka import KafkaSettings

#: The consumer group (or the prefix of the groups) each consumer service reads with.
CONSUMER_GROUPS: dict[str, Callable[[], str]] = {
    "ingest": lambda: IngestSettings().group_id,
    "orchestrator": lambda: OrchestratorSettings().group_id,
}
#: Services drained with SIGTERM in the ``sigterm`` scenario, in this order.
SERVICES = ("webhook", "ingest", "orchestrator", "executor")


def say(message: str) -> None:
    """Print a line of the harness's own output, above the progress line."""
    clear_line()  # the progress line on a terminal; it draws itself again below
    print(f"chaos        | {message}", flush=True)


class FaultInjector:
    """Runs one scenario's faults against a running stack; ``faults`` and ``notes`` fill in as it goes."""

    def __init__(
        self, options: ChaosOptions, stack: Stack, killer: Killer, observer: Observer, load: LoadGenerator
    ) -> None:
        self.options = options
        self.observer = observer
        self.stack = stack
        self.killer = killer
        self.load = load
        self.faults: list[Fault] = []
        #: How long each consumer group took to serve every partition again after a replica was killed.
        self.reassignments: list[Reassignment] = []
        self.notes: list[str] = []
        self._recoveries: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        """Inject the scenario's faults on its schedule, then wait until every fault's recovery was measured."""
        self.killer.load_started_at = self.load.started_at
        scenario = self.options.scenario
        if scenario == "kills":
            await self._kills(kill_schedule(self.options.seed, self.options.kills, self.options.publish_window_s))
        elif scenario == "broker-kill":
            await self._kills([Kill(round(self.options.publish_window_s / 2, 2), "kafka")])
            if await self.killer.wait_healthy("kafka", self.options.recovery_timeout_s):
                await self.observer.restart()
        elif scenario in ("kafka-outage", "temporal-outage"):
            await self._outage(scenario.split("-")[0])
        elif scenario == "replicas":
            await self._kills(replica_kills(self.options.seed, self.options.publish_window_s))
        else:
            await self._sigterms()
        await asyncio.gather(*self._recoveries)

    async def _at(self, offset_s: float) -> None:
        await asyncio.sleep(max(0.0, self.load.started_at + offset_s - time.monotonic()))

    def _recover(self, fault: Fault) -> None:
        async def measure() -> None:
            await self.killer.measure_recovery(fault, self.options.recovery_timeout_s)
            say(
                f"{fault.target} back: healthy after {fault.healthy_after_s}s, new result after "
                f"{fault.recovered_after_s}s {fault.note}".rstrip()
            )

        self._recoveries.append(asyncio.create_task(measure()))

    async def _kills(self, schedule: list[Kill]) -> None:
        # A kill that had to wait (for its part to be healthy, for a Ray task to run) delays the ones after it by
        # as much, so kills keep the schedule's spacing instead of firing all at once to catch up.
        delay = 0.0
        for kill in schedule:
            await self._at(kill.at_s + delay)
            # A part still coming back from its last kill is waited for: killing a restarting part tests the
            # supervisor's backoff, not the mesh.
            if not await self.killer.wait_healthy(kill.target, self.options.recovery_timeout_s):
                self.notes.append(f"{kill.target} was not healthy at t+{kill.at_s}s; killed anyway")
            watches = await self._watch_groups(kill.target)
            try:
                fault = await self.killer.signal(kill.target, signal.SIGKILL, planned_s=kill.at_s)
            except NoProcess as error:
                self.notes.append(f"kill at t+{kill.at_s}s skipped: {error}")
                say(f"skipped kill of {kill.target}: {error}")
                continue
            moment = fault.at - self.load.started_at
            delay = max(delay, moment - kill.at_s)
            say(f"SIGKILL {kill.target} (pid {fault.pid}) at t+{moment:.1f}s ({moment - kill.at_s:+.1f}s late)")
            self.faults.append(fault)
            self._recover(fault)
            for watch, before in watches:
                self._reassigned(watch, before, fault)

    async def _watch_groups(self, target: str) -> list[tuple[GroupWatch, dict[TopicPartition, int]]]:
        """For a replica of a consumer (``replicas`` scenario): each of its service's groups, open, with the
        offsets they had committed right before the kill."""
        service = service_of(target)
        if self.options.scenario != "replicas" or service not in CONSUMER_GROUPS:
            return []
        kafka = kafka_settings(self.stack.mesh)
        watches = []
        for group in await groups_of(kafka, CONSUMER_GROUPS[service]()):
            watch = await GroupWatch(kafka, group).open()
            try:
                watches.append((watch, await watch.committed()))
            except Exception as error:
                await watch.close()
                self.notes.append(f"could not read {group}'s offsets before killing {target}: {error!r}")
        return watches

    def _reassigned(self, watch: GroupWatch, before: dict[TopicPartition, int], fault: Fault) -> None:
        limit = reassign_limit_s(KafkaSettings())
        # Waited for well past the limit, so a slow reassignment is measured, not only flagged.
        wait = min(self.options.recovery_timeout_s, limit * 3)

        # Each replica's /metrics names the partitions it holds; the restarted replica answers on the same port.
        urls = [
            self.stack.mesh.http_urls[child.part.name] + "/metrics"
            for child in self.stack.replicas(service_of(fault.target))
        ]

        async def run() -> None:
            try:
                found = await measure(
                    watch, before, fault.target, fault.at, limit, wait, functools.partial(assigned_partitions, urls)
                )
            finally:
                await watch.close()
            self.reassignments.append(found)
            say(found.describe())

        self._recoveries.append(asyncio.create_task(run()))

    async def _outage(self, target: str) -> None:
        """SIGSTOP the server (it keeps its memory and state), SIGCONT it ``outage_s`` later."""
        planned = round(self.options.publish_window_s / 3, 2)
        await self._at(planned)
        fault = await self.killer.signal(target, signal.SIGSTOP, planned_s=planned)
        self.faults.append(fault)
        say(f"SIGSTOP {target} (pid {fault.pid}) for {self.options.outage_s:g}s")
        try:
            await asyncio.sleep(self.options.outage_s)
        finally:
            await self.killer.signal(target, signal.SIGCONT)
        say(f"SIGCONT {target}")
        fault.at = time.monotonic()
        fault.note = f"stopped {self.options.outage_s:g}s; recovery counted from SIGCONT"
        self._recover(fault)

    async def _sigterms(self) -> None:
        """SIGTERM each service in turn once results flow; each must exit 0 and come back before the next."""
        gap = self.options.publish_window_s / (len(SERVICES) + 1)
        for n, name in enumerate(SERVICES, start=1):
            await self._at(gap * n)
            await self.killer.wait_healthy(name, self.options.recovery_timeout_s)
            child = self.stack.child(name)
            exits = len(child.exit_codes)
            fault = await self.killer.signal(name, signal.SIGTERM, planned_s=round(gap * n, 2))
            self.faults.append(fault)
            deadline = time.monotonic() + 60
            while len(child.exit_codes) == exits and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            fault.exit_code = child.exit_codes[-1] if len(child.exit_codes) > exits else None
            drained = time.monotonic() - fault.at
            say(f"SIGTERM {name} (pid {fault.pid}): exit code {fault.exit_code} after {drained:.1f}s")
            if fault.exit_code != 0:
                self.notes.append(f"{name} exited with code {fault.exit_code} after SIGTERM (expected 0)")
            await self.killer.measure_recovery(fault, self.options.recovery_timeout_s)
            say(f"{name} back: healthy after {fault.healthy_after_s}s, new result after {fault.recovered_after_s}s")
