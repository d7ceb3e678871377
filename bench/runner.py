"""One bench run: start the mesh as ``alertmesh up`` does (free ports, a temporary state dir), measure every
section against its raw ceiling, stop, write BENCHMARKS.md and the plots, print the JSON line last."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar

import orjson
from temporalio.client import Client

from alertmesh import kafka_tools
from alertmesh.stack.embedded import free_port, temporal_command
from alertmesh.stack.local import LocalStack, local_settings, running_local_stack
from alertmesh.stack.mesh import kafka_settings, temporal_probe
from alertmesh.stack.supervisor import Part, Supervisor
from alertmesh.views.progress import clear_line
from bench import dispatch, e2e, machine, raw_worker, report
from bench.footprint import RssSampler, stack_rss_mb
from bench.kafka_io import ResultTail, publish_all, topic_size, watch_growth
from bench.options import OFFERED_LOADS, BenchOptions, Sizes
from bench.payloads import bench_alerts
from bench.record import Record
from bench.workspace import Workspace
from services.shared.kafka import KafkaSettings
from services.shared.temporal import TemporalSettings
from services.shared.topics import TopicSettings

#: Where the raw aiokafka loop reproduces the ingest phase's records.
COPY_TOPIC = "bench.copy"
RAW_WORKER_READY_S = 120.0
#: The longest the ceiling app may take for its warm-up and burst.
CEILING_TIMEOUT_S = 600.0
T = TypeVar("T")


def say(message: str) -> None:
    """Print a line of the harness's own output, above the progress line."""
    clear_line()  # the progress line on a terminal; it draws itself again below
    print(f"bench        | {message}", flush=True)


async def run(options: BenchOptions) -> int:
    """Run every section; 0 when the report was written."""
    record = Record(machine.describe(), options.command())
    state_dir = options.state_dir or Path(tempfile.mkdtemp(prefix="alertmesh-bench-"))
    workspace = Workspace(state_dir)
    workspace.write()
    say(f"load average {record.machine.load_average[0]:.2f} on {record.machine.cores} cores; state in {state_dir}")
    # Before the mesh starts: the ceiling has the machine to itself (see ``_ceiling``).
    record.phases.append(await _timed(record, "Temporal ceiling", _ceiling(options.sizes, workspace)))
    began = time.monotonic()
    settings = local_settings(workspace)
    async with running_local_stack(settings, workspace.mesh_log) as stack:
        record.ready_s = time.monotonic() - began
        say(f"mesh ready in {record.ready_s:.1f}s")
        await _measure(options.sizes, stack, record, settings.topic_partitions)
        # Its own Ray starts while the mesh stops; it is timed once the mesh is gone.
        probe = dispatch.RayProbe(options.sizes.ray_round_trips)
        await probe.start()
    say(f"bare Ray: {options.sizes.ray_round_trips} task round trips on a local Ray of its own")
    record.ray_round_trip_ms = await _timed(record, "bare Ray", probe.measure(timeout_s=180))
    record.durations["total"] = time.monotonic() - began
    options.out.mkdir(parents=True, exist_ok=True)
    target = options.out / "BENCHMARKS.md"
    kept = report.kept_part(target.read_text()) if target.exists() else ""
    target.write_text(report.markdown(record, kept))
    written = report.plots(record, options.out)
    say(f"wrote {options.out / 'BENCHMARKS.md'}, {', '.join(str(p) for p in written)}")
    if options.state_dir is None:
        shutil.rmtree(state_dir, ignore_errors=True)
    print(orjson.dumps(record.summary()).decode(), flush=True)
    return 0


async def _timed(record: Record, name: str, work: Awaitable[T]) -> T:
    # Other work on the machine moves every figure: the load each phase started under is reported beside it.
    record.loads[name] = os.getloadavg()[0]
    started = time.monotonic()
    try:
        return await work
    finally:
        record.durations[name] = time.monotonic() - started


async def _ceiling(sizes: Sizes, workspace: Workspace) -> e2e.Phase:
    """The honest Temporal ceiling: ``bench.ceiling`` (client and worker in one process, default sandbox, two
    sequential activities) against a Temporal dev server started as the mesh starts its own (``temporal_command``:
    the same dynamic config and SQLite pragmas, a database file of its own), with no other part of the mesh
    running. The mesh's end-to-end rate is read against it as well as against the bare design measured beside the
    mesh (whose processes then share the machine with it)."""
    host, port = "127.0.0.1", free_port()
    db_file = workspace.state_dir.resolve() / "ceiling-temporal.db"
    address = f"{host}:{port}"
    part = Part(
        "temporal",
        temporal_command(host, port, free_port(), db_file),
        temporal_probe(address),
        ready_timeout_s=90,
        quiet_on_stop=True,
    )
    supervisor = Supervisor(output=lambda name, line: None)
    say(f"Temporal ceiling: {sizes.ceiling_burst} workflows at once, client and worker in one process, Temporal alone")
    try:
        await supervisor.start_stage([part])
        app = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.ceiling", address, str(sizes.ceiling_burst), str(sizes.warmup),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(app.communicate(), timeout=CEILING_TIMEOUT_S)
    finally:
        await supervisor.stop()
    if app.returncode != 0:
        raise RuntimeError(f"the Temporal ceiling app failed (exit code {app.returncode})")
    times = orjson.loads(out.splitlines()[-1])
    phase = e2e.Phase("ceiling", "triage", None, sent_at=times["sent_at"], done_at=times["done_at"])
    say(f"Temporal ceiling: {phase.completed} results, {phase.throughput():.1f}/s")
    return phase


def _live_pids(stack: LocalStack) -> list[int]:
    """The current process of each part (a part restarted by the bench replaced its earlier child)."""
    newest = {child.part.name: child for child in stack.supervisor.children}
    return [child.pid for child in newest.values() if child.pid is not None]


async def _measure(sizes: Sizes, stack: LocalStack, record: Record, partitions: int) -> None:
    kafka, topics = kafka_settings(stack.mesh), TopicSettings()
    tag = uuid.uuid4().hex[:6]
    await asyncio.sleep(3)  # let the services finish what they do right after ready (Ray's idle workers start)
    record.idle_rss_mb = statistics.median([stack_rss_mb(_live_pids(stack)) for _ in range(3)])
    say(f"idle stack RSS {record.idle_rss_mb:.0f} MiB")
    await _timed(record, "ingest", _ingest(sizes, stack, kafka, topics, tag, record, partitions))
    tail = ResultTail(kafka, topics.results)
    await tail.start()
    client = await TemporalSettings(address=stack.mesh.temporal_address).connect()
    sampler = RssSampler(_live_pids(stack))
    sampler.start()
    try:
        async with _raw_workers(stack.mesh.temporal_address):
            mesh = e2e.MeshDriver(kafka, topics.raw, tail)
            raw = e2e.RawTemporalDriver(client)
            await mesh.start()
            try:
                alerts = e2e.Alerts(tag)
                await _timed(record, "warm-up", _warm_up(sizes, mesh, raw, alerts))
                await _timed(record, "end to end", _end_to_end(sizes, mesh, raw, alerts, record))
                await _timed(record, "dispatch", _dispatch(sizes, mesh, raw, alerts, tail, client, record))
                await _timed(record, "fan-out", _fanout(sizes, mesh, alerts, tail, record))
            finally:
                await raw.close()
                await mesh.stop()
    finally:
        await sampler.stop()
        await tail.stop()
        record.load_rss_mb = sampler.samples


async def _ingest(
    sizes: Sizes,
    stack: LocalStack,
    kafka: KafkaSettings,
    topics: TopicSettings,
    tag: str,
    record: Record,
    partitions: int,
) -> None:
    """Ingest against the raw consume-and-reproduce loop, on the same preloaded records."""
    count = sizes.ingest_alerts
    ingest, orchestrator = stack.child("ingest"), stack.child("orchestrator")
    # The orchestrator stops too, so ingest has the machine to itself; back, it dead-letters the phase's triggers
    # (see workspace.INGEST_ONLY), and the next phase waits until it has.
    await asyncio.gather(ingest.stop(), orchestrator.stop())
    say(f"ingest: preloading {count} alerts on {topics.raw} with ingest stopped")
    await publish_all(kafka, topics.raw, [alert.payload for alert in bench_alerts(tag, "ingest", count)])
    base = await topic_size(kafka, topics.triggers)
    watching = asyncio.create_task(watch_growth(kafka, topics.triggers, base, count, timeout_s=300))
    await stack.supervisor.start_stage([ingest.part])
    record.ingest = await watching
    say(f"ingest: {count} triggers at {record.ingest.rate():.0f}/s")
    dead_letters = await topic_size(kafka, topics.dlq)
    await stack.supervisor.start_stage([orchestrator.part])
    caught_up = await watch_growth(kafka, topics.dlq, dead_letters, count, timeout_s=300)
    say(f"orchestrator: the ingest phase's {caught_up.reached} triggers dead-lettered (unknown workflow)")

    await kafka_tools.ensure_topics(kafka, [COPY_TOPIC], partitions)
    base = await topic_size(kafka, COPY_TOPIC)
    watching = asyncio.create_task(watch_growth(kafka, COPY_TOPIC, base, count, timeout_s=300))
    args = [kafka.bootstrap_servers, topics.raw, COPY_TOPIC, f"bench-copy-{tag}", str(count)]
    copier = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.raw_copy", *args)
    record.raw_copy = await watching
    await copier.wait()
    say(f"raw aiokafka loop: {count} records at {record.raw_copy.rate():.0f}/s")
    if record.ingest.done_at is None or record.raw_copy.done_at is None:
        record.notes.append("an ingest phase timed out before every record was through")


@contextlib.asynccontextmanager
async def _raw_workers(address: str) -> AsyncIterator[None]:
    """The raw design's two processes: its workflow worker and its activity worker."""
    processes = []
    try:
        for role in ("workflows", "activities"):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.raw_worker",
                role,
                address,
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            processes.append(process)
        for process in processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), timeout=RAW_WORKER_READY_S)
            if line.decode().strip() != raw_worker.READY:
                raise RuntimeError(f"a raw Temporal worker did not start (exit code {process.returncode})")
        yield
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in processes:
            await process.wait()


async def _warm_up(sizes: Sizes, mesh: e2e.MeshDriver, raw: e2e.RawTemporalDriver, alerts: e2e.Alerts) -> None:
    """First runs load code and start Ray workers: run a few of each before anything is timed."""
    say("warming up")
    for route, workflow in (("triage", "triage"), ("single", "single"), ("fanout", "fanout")):
        await e2e.burst(mesh, alerts.take(route, sizes.warmup), workflow, 120)
    for workflow in ("triage", "single"):
        await e2e.burst(raw, alerts.take(workflow, sizes.warmup), workflow, 120)


async def _end_to_end(
    sizes: Sizes, mesh: e2e.MeshDriver, raw: e2e.RawTemporalDriver, alerts: e2e.Alerts, record: Record
) -> None:
    for workflow in ("triage", "single"):
        for driver in (mesh, raw):
            name = f"{driver.system} {workflow}"
            phase = await e2e.burst(driver, alerts.take(workflow, sizes.burst), workflow, sizes.drain_s)
            record.phases.append(phase)
            say(f"{name}: burst of {phase.sent}, {phase.completed} results, {phase.throughput():.1f}/s sustained")
            for rate in OFFERED_LOADS:
                batch = alerts.take(workflow, max(1, round(rate * sizes.load_s)))
                phase = await e2e.offered_load(driver, batch, workflow, rate, sizes.drain_s, sizes.max_outstanding)
                record.phases.append(phase)
                say(
                    f"{name}: {rate:g}/s offered, {phase.completed}/{phase.sent} results, "
                    f"{phase.throughput():.1f}/s, p50 {phase.percentile_ms(50) or 0:.0f} ms, "
                    f"p99 {phase.percentile_ms(99) or 0:.0f} ms"
                )
                if phase.saturated_at is not None:
                    record.notes.append(
                        f"{name} at {rate:g}/s: saturated, sending stopped after {phase.sent} of {len(batch)} "
                        f"with {phase.saturated_at} waiting for their result"
                    )
                if phase.completed < phase.sent:
                    record.notes.append(f"{name} at {rate:g}/s: {phase.sent - phase.completed} without a result")


async def _dispatch(
    sizes: Sizes,
    mesh: e2e.MeshDriver,
    raw: e2e.RawTemporalDriver,
    alerts: e2e.Alerts,
    tail: ResultTail,
    client: Client,
    record: Record,
) -> None:
    say(f"dispatch: {sizes.dispatch_runs} sequential 1-action runs, mesh and bare Temporal")
    batch = alerts.take("single", sizes.dispatch_runs)
    await e2e.sequential(mesh, batch, "single", sizes.drain_s)
    for alert in batch:
        arrival = tail.arrivals.get(alert.correlationid)
        if arrival is None:
            continue
        data = arrival.result.data
        record.single_wall_ms.append((data.finished_at - data.started_at).total_seconds() * 1000)
        record.mesh_action_ms += [a.duration_ms for a in data.actions if a.duration_ms is not None]
        record.mesh_activity_ms += await dispatch.activity_times_ms(client, data.workflow_id)
    batch = alerts.take("single", sizes.dispatch_runs)
    await e2e.sequential(raw, batch, "single", sizes.drain_s)
    for alert in batch:
        record.raw_activity_ms += await dispatch.activity_times_ms(client, f"raw-single-{alert.correlationid}")


async def _fanout(sizes: Sizes, mesh: e2e.MeshDriver, alerts: e2e.Alerts, tail: ResultTail, record: Record) -> None:
    say(f"fan-out: {sizes.fanout_runs} sequential runs of the 32-action workflow")
    batch = alerts.take("fanout", sizes.fanout_runs)
    await e2e.sequential(mesh, batch, "fanout", sizes.drain_s)
    for alert in batch:
        if (arrival := tail.arrivals.get(alert.correlationid)) is not None:
            data = arrival.result.data
            record.fanout_wall_ms.append((data.finished_at - data.started_at).total_seconds() * 1000)
