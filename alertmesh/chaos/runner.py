"""One chaos run from start to verdict: start the mesh, publish while injecting faults, wait for quiet, check,
report. Returns the exit code (0 only when every check passed)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from pathlib import Path

from alertmesh.chaos import checks, visibility
from alertmesh.chaos.actions import runs_per_workflow
from alertmesh.chaos.checks import replica_checks
from alertmesh.chaos.faults import FaultInjector, say
from alertmesh.chaos.killer import Killer
from alertmesh.chaos.load import LoadGenerator, webhook_headers
from alertmesh.chaos.observer import Observer
from alertmesh.chaos.options import ChaosOptions
from alertmesh.chaos.payloads import build_load
from alertmesh.chaos.report import RunRecord, markdown, summary_line
from alertmesh.chaos.schedule import kill_schedule, replica_kills
from alertmesh.chaos.stack import Stack, running_stack
from alertmesh.chaos.workspace import Workspace
from alertmesh.stack.mesh import kafka_settings
from alertmesh.views.progress import Progress, polled
from services.shared.topics import TopicSettings

#: Every n-th message goes through the webhook in these scenarios: while Kafka is down the bridge must answer 503,
#: and on SIGTERM it must finish the requests it accepted.
WEBHOOK_EVERY = 4
WEBHOOK_SCENARIOS = ("kafka-outage", "sigterm")


async def run(options: ChaosOptions) -> int:
    """Run the chaos scenario ``options`` describes and write its report; the exit code (0 only when every check
    passed). The state directory is removed after a passing run unless ``options`` named it."""
    if options.scenario == "kills":
        say(f"kill schedule (seed {options.seed}, over {options.publish_window_s:.0f}s of publishing):")
        for kill in kill_schedule(options.seed, options.kills, options.publish_window_s):
            say("  " + kill.describe())
    state_dir = options.state_dir or Path(tempfile.mkdtemp(prefix="alertmesh-chaos-"))
    started = time.monotonic()
    if options.scenario == "replicas":
        say(f"replicas: {options.replicas}, a Ray cluster of {options.ray_nodes} nodes; kills:")
        for kill in replica_kills(options.seed, options.publish_window_s):
            say("  " + kill.describe())
    workspace = Workspace(state_dir)
    async with running_stack(workspace, options.action_seconds, options.replicas, options.ray_nodes) as stack:
        say(f"mesh ready in {time.monotonic() - started:.1f}s (state in {state_dir})")
        record = await _exercise(options, stack, {"startup": time.monotonic() - started})
    record.durations["total"] = time.monotonic() - started
    options.report.write_text(markdown(record))
    say(f"report written to {options.report}")
    passed = record.findings.passed
    if options.state_dir is None:
        if passed:
            shutil.rmtree(state_dir, ignore_errors=True)
        else:
            say(f"state kept for inspection in {state_dir} (mesh.log, side-effects.log, temporal.db)")
    print(summary_line(record), flush=True)
    return 0 if passed else 1


async def _exercise(options: ChaosOptions, stack: Stack, durations: dict[str, float]) -> RunRecord:
    topics, kafka = TopicSettings(), kafka_settings(stack.mesh)
    run_tag = f"c{options.seed:x}"[:8]
    messages = build_load(options.alerts, options.seed, run_tag, options.duplicate_share, options.malformed_share)
    webhook_every = options.webhook_every
    if webhook_every is None:
        webhook_every = WEBHOOK_EVERY if options.scenario in WEBHOOK_SCENARIOS else 0
    load = LoadGenerator(
        messages,
        options.rate,
        kafka,
        topics.raw,
        stack.mesh.webhook_url,
        webhook_headers(stack.workspace.state_dir),
        webhook_every,
    )
    observer = Observer(kafka, topics.results, topics.dlq)
    observer.start()
    injector = FaultInjector(options, stack, Killer(stack, observer), observer, load)
    progress = asyncio.create_task(_progress(load, observer, injector))
    try:
        publishing = asyncio.create_task(load.run())
        await asyncio.sleep(0)  # let the load set its start time before faults are planned against it
        await asyncio.gather(publishing, injector.run())
        durations["publishing and faults"] = time.monotonic() - load.started_at
        drain_started = time.monotonic()
        await _drain(options, load, observer)
        durations["drain"] = time.monotonic() - drain_started
    finally:
        progress.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await progress
        await observer.stop()
    check_started = time.monotonic()
    executions = await visibility.executions(stack.mesh.temporal_address)
    runs = runs_per_workflow(str(stack.workspace.side_effects))
    expect, notes = _expectations(options, load, observer, injector)
    findings = checks.evaluate(
        load.sent, observer.results, observer.dead_letters, executions, runs, injector.faults, expect
    )
    _scenario_checks(options, load, injector, findings)
    durations["checks"] = time.monotonic() - check_started
    say(f"{len(executions)} workflow executions in Temporal, {len(observer.results)} results read")
    return RunRecord(
        scenario=options.scenario,
        command=options.command(),
        seed=options.seed,
        rate=options.rate,
        findings=findings,
        faults=injector.faults,
        sent=load.sent,
        durations=durations,
        notes=injector.notes + notes,
        reassignments=injector.reassignments,
    )


def _distinct_results(observer: Observer) -> int:
    return len({result.workflow_id for result in observer.results})


async def _drain(options: ChaosOptions, load: LoadGenerator, observer: Observer) -> None:
    """Wait until every distinct alert has a result (then a short grace for late duplicates), or until the result
    topic has been quiet for ``quiet_s``, or the drain timeout."""
    distinct = sum(1 for s in load.sent if s.message.kind == "alert" and s.accepted_at is not None)
    deadline = time.monotonic() + options.drain_timeout_s
    quiet_from = observer.last_result_at() or time.monotonic()
    while time.monotonic() < deadline:
        last = observer.last_result_at()
        quiet_from = max(quiet_from, last or 0.0)
        if _distinct_results(observer) >= distinct:
            await asyncio.sleep(min(options.quiet_s, 5.0))
            return
        if time.monotonic() - quiet_from >= options.quiet_s:
            say(f"result topic quiet for {options.quiet_s:g}s with {_distinct_results(observer)} of {distinct} results")
            return
        await asyncio.sleep(0.5)
    say(f"drain timeout after {options.drain_timeout_s:g}s")


def _expectations(
    options: ChaosOptions, load: LoadGenerator, observer: Observer, injector: FaultInjector
) -> tuple[set[str] | None, list[str]]:
    """Which alerts must have a result. After a broker kill only those accepted once it was back: what was on the
    in-memory topics is gone, and the note says exactly how much."""
    if options.scenario != "broker-kill" or not injector.faults:
        return None, []
    fault = injector.faults[0]
    back = fault.at + (fault.healthy_after_s or 0.0)
    answered = {checks.fingerprint_of_workflow(r.workflow_id) for r in observer.results}
    alerts = [s for s in load.sent if s.message.kind == "alert" and s.accepted_at is not None]
    before = [s for s in alerts if s.accepted_at is not None and s.accepted_at < fault.at]
    during = [s for s in alerts if s.accepted_at is not None and fault.at <= s.accepted_at < back]
    after = {s.message.fingerprint for s in alerts if s.accepted_at is not None and s.accepted_at >= back}
    lost_before = [s for s in before if s.message.fingerprint not in answered]
    lost_during = [s for s in during if s.message.fingerprint not in answered]
    notes = [
        f"broker killed with {len(before)} alerts accepted before it: {len(lost_before)} of them never produced a "
        f"result (lost with the in-memory broker)",
        f"{len(during)} alerts accepted while it restarted: {len(lost_during)} without a result",
        f"{len(after)} alerts accepted after it was back must all have a result (checked)",
    ]
    for note in notes:
        say(note)
    return {fp for fp in after if fp is not None}, notes


def _scenario_checks(
    options: ChaosOptions, load: LoadGenerator, injector: FaultInjector, findings: checks.Findings
) -> None:
    if options.scenario == "replicas":
        findings.checks += replica_checks(injector.faults, injector.reassignments)
    if options.scenario == "sigterm":
        bad = [f"{f.target}: exit code {f.exit_code}" for f in injector.faults if f.exit_code != 0]
        findings.checks.append(checks.Check("every service exited 0 on SIGTERM", not bad, f"{len(bad)} did not", bad))
    webhook = [s for s in load.sent if s.via == "webhook"]
    if webhook:
        unavailable = sum(s.unavailable for s in webhook)
        with_retry_after = sum(s.retry_after for s in webhook)
        rejected = [
            f"#{s.message.index}: {s.errors[-1]}"
            for s in webhook
            if s.rejected is not None and s.message.kind != "malformed"
        ]
        refused = sum(1 for s in webhook if s.rejected is not None and s.message.kind == "malformed")
        injector.notes.append(
            f"webhook: {len(webhook)} messages, {unavailable} answers 503 ({with_retry_after} with Retry-After), "
            f"{refused} malformed ones refused with 4xx, {len(rejected)} alerts refused"
        )
        if options.scenario == "kafka-outage":
            findings.checks.append(
                checks.Check(
                    "the webhook answered 503 with Retry-After while Kafka was down",
                    unavailable > 0 and with_retry_after == unavailable,
                    f"{unavailable} answers 503, {with_retry_after} with Retry-After",
                )
            )
        findings.checks.append(
            checks.Check(
                "the webhook refused no well-formed alert", not rejected, f"{len(rejected)} refused", rejected[:5]
            )
        )


async def _progress(load: LoadGenerator, observer: Observer, injector: FaultInjector) -> None:
    """Counts on stderr until cancelled (a refreshing line on a terminal, a line every few seconds otherwise)."""

    def poll(bar: Progress) -> None:
        bar.update(
            load.accepted(),
            total=len(load.sent),
            note=f"results {_distinct_results(observer)}, dead letters {len(observer.dead_letters)}, "
            f"faults {len(injector.faults)}",
        )

    async with polled(Progress("chaos: published"), poll):
        await asyncio.Event().wait()  # until the run cancels it
