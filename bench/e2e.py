"""End to end, alert in to result out: the mesh (``alerts.raw`` to ``alertmesh.results``) and the naive raw design
(a bare Temporal workflow started directly), each driven by a burst and by fixed offered loads."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aiokafka import AIOKafkaProducer
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from alertmesh.views.progress import Progress
from bench import raw_workflows
from bench.kafka_io import ResultTail
from bench.payloads import HEADERS, BenchAlert, bench_alerts
from services.shared.kafka import KafkaSettings

#: ``ceiling``: the minimal Temporal app measured alone before the mesh starts (``bench.ceiling``).
System = Literal["mesh", "raw", "ceiling"]


@dataclass
class Phase:
    """One measured phase: what was sent, when each was sent and (if it was) completed."""

    system: System
    workflow: str
    #: Alerts per second offered; None for a burst (everything at once).
    offered: float | None
    #: Sending stopped early: this many were waiting for their result (the system could not keep up).
    saturated_at: int | None = None
    sent_at: list[float] = field(default_factory=list)
    done_at: list[float | None] = field(default_factory=list)

    @property
    def sent(self) -> int:
        """How many alerts were sent (before a saturated phase stopped sending)."""
        return len(self.sent_at)

    @property
    def completed(self) -> int:
        """How many of the sent alerts had their result within the phase's timeout."""
        return sum(1 for t in self.done_at if t is not None)

    def latencies_ms(self) -> list[float]:
        """Alert-in to result-out time of every completed alert, in milliseconds, shortest first."""
        return sorted((d - s) * 1000 for s, d in zip(self.sent_at, self.done_at, strict=True) if d is not None)

    def throughput(self) -> float:
        """Results per second of wall time, from the first send to the last result. Over a burst too: timing it
        from the first result would leave out filling the pipeline, and runs that finish together in a cluster
        would pass for a rate the system cannot keep up."""
        done = [t for t in self.done_at if t is not None]
        if not done:
            return 0.0
        return len(done) / (max(done) - self.sent_at[0])

    def percentile_ms(self, q: float) -> float | None:
        """The ``q``-th percentile of the latencies in milliseconds (``q`` from 1 to 99); None when nothing
        completed."""
        latencies = self.latencies_ms()
        if not latencies:
            return None
        if len(latencies) == 1:
            return latencies[0]
        return statistics.quantiles(latencies, n=100, method="inclusive")[round(q) - 1]


class Driver(Protocol):
    """How a phase sends alerts to one system and learns when each one's result arrived."""

    system: System

    async def submit(self, alert: BenchAlert, workflow: str) -> Callable[[], float | None]:
        """Send one alert; a function telling when its result arrived (None while it has not)."""

    async def settle(self) -> None:
        """Wait until everything submitted was handed over (e.g. acknowledged by the broker)."""


class MeshDriver:
    """Publishes to the raw alerts topic (acks=all); completion is the result's arrival on the results topic."""

    system: System = "mesh"

    def __init__(self, kafka: KafkaSettings, raw_topic: str, tail: ResultTail) -> None:
        self._kafka, self._topic, self._tail = kafka, raw_topic, tail
        self._producer: AIOKafkaProducer | None = None
        self._pending: list[asyncio.Future[object]] = []

    async def start(self) -> None:
        """Connect the producer; ``submit`` needs it."""
        self._producer = AIOKafkaProducer(**self._kafka.client_kwargs(), acks="all")
        await self._producer.start()

    async def stop(self) -> None:
        """Flush and close the producer (nothing if it never started)."""
        if self._producer is not None:
            await self._producer.stop()

    async def submit(self, alert: BenchAlert, workflow: str) -> Callable[[], float | None]:
        """Publish one alert (``workflow`` is chosen by its route, so unused here); done when its result is tailed."""
        assert self._producer is not None
        self._pending.append(await self._producer.send(self._topic, alert.payload, headers=HEADERS))
        arrivals = self._tail.arrivals

        def done() -> float | None:
            arrival = arrivals.get(alert.correlationid)
            return arrival.at if arrival else None

        return done

    async def settle(self) -> None:
        """Wait until the broker acknowledged every alert submitted since the last settle."""
        pending, self._pending = self._pending, []
        await asyncio.gather(*pending)


class RawTemporalDriver:
    """Starts the raw workflow directly (as the orchestrator starts the DSL workflow: id reuse rejected, a memo),
    then waits for its result."""

    system: System = "raw"

    def __init__(self, client: Client) -> None:
        self._client = client
        self._tasks: set[asyncio.Task[None]] = set()
        self._started: list[asyncio.Future[None]] = []

    async def submit(self, alert: BenchAlert, workflow: str) -> Callable[[], float | None]:
        """Start the raw ``workflow`` (``triage`` or the single-action one) for ``alert`` in the background."""
        finished: list[float] = []
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        run = raw_workflows.RawTriage.run if workflow == "triage" else raw_workflows.RawSingle.run

        async def go() -> None:
            try:
                handle = await self._client.start_workflow(
                    run,
                    raw_workflows.RawInput(alert=alert.alert),
                    id=f"raw-{workflow}-{alert.correlationid}",
                    task_queue=raw_workflows.WORKFLOW_QUEUE,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    memo={"correlationid": alert.correlationid},
                )
            finally:
                started.set_result(None)
            await handle.result()
            finished.append(time.monotonic())

        task = asyncio.create_task(go())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._started.append(started)
        return lambda: finished[0] if finished else None

    async def settle(self) -> None:
        """Wait until every workflow submitted since the last settle was started (or failed to start)."""
        started, self._started = self._started, []
        await asyncio.gather(*started)

    async def close(self) -> None:
        """Stop waiting for the results still outstanding (their workflows stay on the server)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _wait(probes: list[Callable[[], float | None]], timeout_s: float, progress: Progress | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(probe() is None for probe in probes):
        if progress is not None and progress.due():
            progress.update(sum(1 for probe in probes if probe() is not None), note="results")
        await asyncio.sleep(0.05)


async def _collect(
    phase: Phase, probes: list[Callable[[], float | None]], timeout_s: float, progress: Progress
) -> Phase:
    """Wait up to ``timeout_s`` for the results and record them; then, unrecorded, up to as long again for the
    rest, so a backlog does not spill into the next phase."""
    with progress:
        await _wait(probes, timeout_s, progress)
        phase.done_at = [probe() for probe in probes]
        progress.update(sum(1 for done in phase.done_at if done is not None), note="results")
    await _wait(probes, timeout_s)
    return phase


class Alerts:
    """Fresh bench alerts for each phase: never a fingerprint twice in a run."""

    def __init__(self, run_tag: str) -> None:
        self._tag, self._next = run_tag, 0

    def take(self, route: str, count: int) -> list[BenchAlert]:
        """The next ``count`` alerts for ``route``, numbered after every alert taken before."""
        alerts = bench_alerts(self._tag, route, count, self._next)
        self._next += count
        return alerts


async def burst(driver: Driver, alerts: list[BenchAlert], workflow: str, timeout_s: float) -> Phase:
    """Send every alert at once; wait for their results."""
    phase = Phase(driver.system, workflow, None)
    progress = Progress(f"{driver.system} {workflow} burst", total=len(alerts))
    probes = []
    for alert in alerts:
        phase.sent_at.append(time.monotonic())
        probes.append(await driver.submit(alert, workflow))
        progress.update(0, note=f"sent {len(probes)}")
    await driver.settle()
    return await _collect(phase, probes, timeout_s, progress)


async def offered_load(
    driver: Driver, alerts: list[BenchAlert], workflow: str, rate: float, timeout_s: float, max_outstanding: int
) -> Phase:
    """Send the alerts at ``rate`` per second, but stop early once ``max_outstanding`` wait for their result (a
    system that cannot keep up would otherwise build a backlog that outlasts the run); wait for their results."""
    phase = Phase(driver.system, workflow, rate)
    progress = Progress(f"{driver.system} {workflow} at {rate:g}/s", total=len(alerts))
    probes: list[Callable[[], float | None]] = []
    start = time.monotonic()
    for index, alert in enumerate(alerts):
        await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
        outstanding = sum(1 for probe in probes if probe() is None)
        if outstanding >= max_outstanding:
            phase.saturated_at = outstanding
            break
        phase.sent_at.append(time.monotonic())
        probes.append(await driver.submit(alert, workflow))
        progress.update(len(probes) - outstanding, note=f"sent {len(probes)}, results")
    await driver.settle()
    return await _collect(phase, probes, timeout_s, progress)


async def sequential(driver: Driver, alerts: list[BenchAlert], workflow: str, timeout_s: float) -> list[float | None]:
    """One alert at a time, each after the previous one's result: completion times (None: timed out)."""
    done: list[float | None] = []
    with Progress(f"{driver.system} {workflow} one at a time", total=len(alerts)) as progress:
        for alert in alerts:
            probe = await driver.submit(alert, workflow)
            await driver.settle()
            await _wait([probe], timeout_s)
            done.append(probe())
            progress.update(len(done), note="results")
    return done
