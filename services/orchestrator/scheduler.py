"""Runs a workflow definition's actions as a DAG: ready actions start together, each as soon as its
dependencies succeeded; an action whose dependency did not succeed is skipped.

It only needs "run one action" and "wait for the first of these tasks" functions, so the workflow passes
Temporal-safe ones (``workflow.wait``) and unit tests plain asyncio. Future DSL features (run_if, for_each, error
edges, joins) change ``_decide`` and the runner, not the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from dsl.model import ActionStatement, WorkflowDefinition
from dsl.templates import TemplateContext
from schemas import ActionError, ActionReport

ActionTask = asyncio.Task[ActionReport]
RunAction = Callable[[ActionStatement, TemplateContext], Coroutine[Any, Any, ActionReport]]
WaitFirst = Callable[[list[ActionTask]], Coroutine[Any, Any, Sequence[ActionTask]]]


class DagScheduler:
    """One run of one definition; ``run`` returns a report per action, in definition order."""

    def __init__(self, definition: WorkflowDefinition, run_action: RunAction, wait_first: WaitFirst) -> None:
        self._definition = definition
        self._run_action = run_action
        self._wait_first = wait_first
        self._reports: dict[str, ActionReport] = {}
        self._running: dict[ActionTask, str] = {}

    async def run(self, trigger: dict[str, Any]) -> list[ActionReport]:
        while True:
            self._start_ready(trigger)
            if not self._running:
                break
            done = await self._wait_first(list(self._running))
            # Record in definition order, never in completion-set order, so replays see the same sequence.
            for task in sorted(done, key=lambda t: self._position(self._running[t])):
                self._reports[self._running.pop(task)] = task.result()
        return [self._reports[action.ref] for action in self._definition.actions]

    def _position(self, ref: str) -> int:
        return next(i for i, action in enumerate(self._definition.actions) if action.ref == ref)

    def _start_ready(self, trigger: dict[str, Any]) -> None:
        running = set(self._running.values())
        progressed = True
        while progressed:  # a skip can make further dependents decidable in the same pass
            progressed = False
            for action in self._definition.actions:
                if action.ref in self._reports or action.ref in running:
                    continue
                if not all(dep in self._reports for dep in action.depends_on):
                    continue
                failed = [d for d in action.depends_on if self._reports[d].status != "succeeded"]
                if failed:
                    self._reports[action.ref] = _skipped(action, failed)
                    progressed = True
                    continue
                context = TemplateContext(trigger=trigger, results=self._results())
                task: ActionTask = asyncio.create_task(self._run_action(action, context))
                self._running[task] = action.ref
                running.add(action.ref)

    def _results(self) -> dict[str, Any]:
        return {ref: report.result for ref, report in self._reports.items() if report.status == "succeeded"}


def _skipped(action: ActionStatement, upstream: list[str]) -> ActionReport:
    return ActionReport(
        ref=action.ref,
        action=action.action,
        status="skipped",
        error=ActionError(type="UpstreamNotSucceeded", message=f"skipped: {', '.join(upstream)} did not succeed"),
    )
