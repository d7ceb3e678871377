"""DagScheduler with plain asyncio and the executor's real BatchRun: what is dispatched together, dependency order,
failures skip dependents, infrastructure failures are retried after a backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dsl.model import ActionStatement, ChildWorkflowArgs
from schemas import ActionBatch, ActionReport, ActionStep
from services.executor.batch import BatchRun
from services.executor.outcome import Outcome
from services.orchestrator.scheduler import DagScheduler, DispatchTask
from tests.orchestrator.factories import definition


class EchoRunner:
    """Runs action ``x`` (pure) or ``io`` (side effects) by echoing ``args.value`` after a per-value delay;
    ``fail`` raises; ``flaky`` loses its first ``losses`` attempts to a (fake) crashed Ray worker."""

    def __init__(self, delays: Mapping[Any, float] | None = None, losses: int = 0) -> None:
        self.delays = delays or {}
        self.losses = losses
        self.events: list[str] = []

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        value = raw_args.get("value")
        self.events.append(f"start {value}")
        await asyncio.sleep(self.delays.get(value, 0))
        self.events.append(f"end {value}")
        if name == "fail":
            return Outcome(ok=False, error_type="RuntimeError", error_message="boom")
        if name == "flaky" and self.losses > 0:
            self.losses -= 1
            raise ConnectionError("ray worker died")
        return Outcome(ok=True, value=value)


class Dispatcher:
    """Runs each batch with BatchRun in this process, as the executor would; records batches and sleeps."""

    def __init__(self, runner: EchoRunner, trigger: dict[str, Any] | None = None) -> None:
        self.runner = runner
        self.trigger = trigger or {}
        self.batches: list[list[str]] = []
        self.results_sent: list[dict[str, Any]] = []
        self.sleeps: list[float] = []

    async def dispatch(
        self, steps: list[ActionStep], results: dict[str, Any], errors: dict[str, Any]
    ) -> list[ActionReport]:
        self.batches.append([step.ref + ("<" + ",".join(step.after) if step.after else "") for step in steps])
        self.results_sent.append(results)
        batch = ActionBatch(workflow_id="wf", correlationid="c", trigger=self.trigger, results=results, steps=steps)
        return await BatchRun(batch, self.runner, lambda name: name == "x").run()

    async def wait_first(self, tasks: list[DispatchTask]) -> Sequence[DispatchTask]:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return list(done)

    async def sleep(self, seconds: float) -> list[ActionReport]:
        self.sleeps.append(seconds)
        return []

    def now(self) -> datetime:
        return datetime(2024, 1, 1, tzinfo=UTC)

    async def child(
        self, action: ActionStatement, args: ChildWorkflowArgs, item: int | None, attempt: int
    ) -> ActionReport:
        raise AssertionError("no child workflows in these tests")


def diamond(action: str) -> Any:
    return definition(
        [
            {"ref": "a", "action": action, "args": {"value": "A"}},
            {"ref": "b", "action": action, "args": {"value": "${{ TRIGGER.n }}"}},
            {
                "ref": "c",
                "action": "x",
                "depends_on": ["a", "b"],
                "args": {"value": "${{ ACTIONS.a.result }}${{ ACTIONS.b.result }}"},
            },
        ]
    )


async def test_ready_actions_go_in_one_batch_and_a_follower_of_pure_ones_runs_in_it() -> None:
    runner = EchoRunner({"A": 0.05, 2: 0.01})
    dispatcher = Dispatcher(runner, trigger={"n": 2})
    reports = await DagScheduler(diamond("x"), dispatcher).run()
    assert dispatcher.batches == [["a", "b", "c<a,b"]]
    assert runner.events == ["start A", "start 2", "end 2", "end A", "start A2", "end A2"]
    assert [(r.ref, r.status, r.result) for r in reports] == [
        ("a", "succeeded", "A"),
        ("b", "succeeded", 2),
        ("c", "succeeded", "A2"),
    ]


async def test_a_follower_of_an_action_with_side_effects_waits_for_its_result_to_be_recorded() -> None:
    dispatcher = Dispatcher(EchoRunner(), trigger={"n": 2})
    reports = await DagScheduler(diamond("io"), dispatcher).run()
    assert dispatcher.batches == [["a", "b", "c<a,b"], ["c"]]
    # The second batch carries exactly the recorded results c's templates read.
    assert dispatcher.results_sent == [{}, {"a": "A", "b": 2}]
    assert reports[2].result == "A2"


async def test_failure_skips_dependents_transitively_but_not_independents() -> None:
    chain = definition(
        [
            {"ref": "a", "action": "fail"},
            {"ref": "b", "action": "x", "depends_on": ["a"]},
            {"ref": "c", "action": "x", "depends_on": ["b"]},
            {"ref": "d", "action": "x", "args": {"value": 1}},
        ]
    )
    runner = EchoRunner()
    reports = await DagScheduler(chain, Dispatcher(runner)).run()
    assert [(r.ref, r.status) for r in reports] == [
        ("a", "failed"),
        ("b", "skipped"),
        ("c", "skipped"),
        ("d", "succeeded"),
    ]
    assert runner.events == ["start None", "start 1", "end None", "end 1"]
    assert reports[1].error is not None and reports[1].error.message == "skipped: a did not succeed"
    assert reports[2].error is not None and reports[2].error.message == "skipped: b did not succeed"


async def test_an_infrastructure_failure_is_retried_after_a_backoff_while_attempts_last() -> None:
    """Lost workers are retried up to INFRASTRUCTURE_ATTEMPTS (5), whatever the action's retry policy says."""
    flaky = definition([{"ref": "f", "action": "flaky", "args": {"value": 7}}])
    dispatcher = Dispatcher(EchoRunner(losses=2))
    [report] = await DagScheduler(flaky, dispatcher).run()
    assert (report.status, report.result, report.attempts) == ("succeeded", 7, 3)
    assert dispatcher.sleeps == [1.0, 2.0]

    dispatcher = Dispatcher(EchoRunner(losses=6))
    [report] = await DagScheduler(flaky, dispatcher).run()
    assert (report.status, report.attempts) == ("failed", 5)
    assert report.error is not None and report.error.retryable and report.error.type == "ConnectionError"


async def test_an_action_that_raised_is_not_retried() -> None:
    dispatcher = Dispatcher(EchoRunner())
    [report] = await DagScheduler(definition([{"ref": "a", "action": "fail"}]), dispatcher).run()
    assert (report.status, report.attempts, dispatcher.sleeps) == ("failed", 1, [])
    assert report.error is not None and not report.error.retryable
