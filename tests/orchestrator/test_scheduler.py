"""DagScheduler with plain asyncio: parallel starts, dependency order, failures skip dependents."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from dsl.model import ActionStatement
from dsl.templates import TemplateContext, render
from schemas import ActionError, ActionReport
from services.orchestrator.scheduler import ActionTask, DagScheduler
from tests.orchestrator.factories import definition


async def first_completed(tasks: list[ActionTask]) -> Sequence[ActionTask]:
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    return list(done)


class RecordingRunner:
    """Runs an action by echoing its rendered args after a per-ref delay; records start/finish events."""

    def __init__(self, delays: dict[str, float], failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.delays, self.failing = delays, failing
        self.events: list[str] = []

    async def __call__(self, action: ActionStatement, context: TemplateContext) -> ActionReport:
        self.events.append(f"start {action.ref}")
        args: dict[str, Any] = render(action.args, context)
        await asyncio.sleep(self.delays.get(action.ref, 0))
        self.events.append(f"end {action.ref}")
        if action.ref in self.failing:
            error = ActionError(type="RuntimeError", message="boom")
            return ActionReport(ref=action.ref, action=action.action, status="failed", error=error)
        return ActionReport(ref=action.ref, action=action.action, status="succeeded", result=args.get("value"))


DIAMOND = definition(
    [
        {"ref": "a", "action": "x", "args": {"value": "A"}},
        {"ref": "b", "action": "x", "args": {"value": "${{ TRIGGER.n }}"}},
        {
            "ref": "c",
            "action": "x",
            "depends_on": ["a", "b"],
            "args": {"value": "${{ ACTIONS.a.result }}${{ ACTIONS.b.result }}"},
        },
    ]
)


async def test_independent_actions_run_in_parallel_and_dependents_wait() -> None:
    runner = RecordingRunner({"a": 0.05, "b": 0.01})
    reports = await DagScheduler(DIAMOND, runner, first_completed).run({"n": 2})
    assert runner.events == ["start a", "start b", "end b", "end a", "start c", "end c"]
    assert [(r.ref, r.status, r.result) for r in reports] == [
        ("a", "succeeded", "A"),
        ("b", "succeeded", 2),
        ("c", "succeeded", "A2"),
    ]


async def test_failure_skips_dependents_transitively_but_not_independents() -> None:
    chain = definition(
        [
            {"ref": "a", "action": "x"},
            {"ref": "b", "action": "x", "depends_on": ["a"]},
            {"ref": "c", "action": "x", "depends_on": ["b"]},
            {"ref": "d", "action": "x", "args": {"value": 1}},
        ]
    )
    runner = RecordingRunner({}, failing={"a"})
    reports = await DagScheduler(chain, runner, first_completed).run({})
    assert [(r.ref, r.status) for r in reports] == [
        ("a", "failed"),
        ("b", "skipped"),
        ("c", "skipped"),
        ("d", "succeeded"),
    ]
    assert "start b" not in runner.events and "start c" not in runner.events
    assert reports[1].error is not None and reports[1].error.message == "skipped: a did not succeed"
    assert reports[2].error is not None and reports[2].error.message == "skipped: b did not succeed"
