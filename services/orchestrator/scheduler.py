"""Runs a workflow definition's actions as a DAG, in batches: one dispatch per set of actions that became ready
together, each carrying the actions that depend only on that set (its *followers*, which the executor may run in
the same batch; see ``schemas.actions``). An action whose dependency did not succeed is skipped; an attempt
that failed for an infrastructure reason (``ActionError.retryable``) is run again after a backoff, while the
action has attempts left.

It only needs "dispatch these steps", "wait for the first of these tasks" and "sleep" functions, so the workflow
passes Temporal-safe ones (an activity, ``workflow.wait``, a durable timer) and unit tests plain asyncio. Future
DSL features (run_if, for_each, error edges, joins) change ``_decide`` and the step building, not the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol

from dsl.expressions import expressions_in
from dsl.model import INFRASTRUCTURE_ATTEMPTS, ActionStatement, WorkflowDefinition
from schemas import ActionError, ActionReport, ActionStep

DispatchTask = asyncio.Task[list[ActionReport]]


class Dispatcher(Protocol):
    """How the scheduler reaches the outside world (Temporal in the workflow, asyncio in tests)."""

    def dispatch(self, steps: list[ActionStep], results: dict[str, Any]) -> Coroutine[Any, Any, list[ActionReport]]: ...

    def wait_first(self, tasks: list[DispatchTask]) -> Coroutine[Any, Any, Sequence[DispatchTask]]: ...

    def sleep(self, seconds: float) -> Coroutine[Any, Any, None]: ...


def retry_delay_s(attempt: int) -> float:
    """Backoff before attempt ``attempt + 1``: 1 s, doubling, at most 30 s (as Temporal's default policy)."""
    return float(min(2 ** (attempt - 1), 30))


class DagScheduler:
    """One run of one definition; ``run`` returns a report per action, in definition order."""

    def __init__(self, definition: WorkflowDefinition, dispatcher: Dispatcher, *, batches: bool = True) -> None:
        """``batches=False`` dispatches each ready action alone, with no followers (runs whose history predates
        batched dispatch replay that way)."""
        self._definition = definition
        self._batches = batches
        self._actions = {action.ref: action for action in definition.actions}
        self._position = {action.ref: i for i, action in enumerate(definition.actions)}
        self._dispatcher = dispatcher
        self._reports: dict[str, ActionReport] = {}
        self._running: dict[DispatchTask, list[str]] = {}

    async def run(self) -> list[ActionReport]:
        while True:
            ready = self._decide()
            if ready and self._batches:
                self._start(self._batch(ready), [action.ref for action in ready])
            elif ready:
                for action in ready:
                    self._start([_step(action, 1, [])], [action.ref])
            if not self._running:
                break
            done = await self._dispatcher.wait_first(list(self._running))
            # Record in definition order, never in completion-set order, so replays see the same sequence.
            for task in sorted(done, key=lambda t: self._position[self._running[t][0]]):
                del self._running[task]
                for report in task.result():
                    self._record(report)
        return [self._reports[action.ref] for action in self._definition.actions]

    def _in_flight(self) -> set[str]:
        return {ref for refs in self._running.values() for ref in refs}

    def _succeeded(self) -> set[str]:
        return {ref for ref, report in self._reports.items() if report.status == "succeeded"}

    def _decide(self) -> list[ActionStatement]:
        """Skip what can no longer run; return the actions whose dependencies all succeeded, not yet started."""
        in_flight = self._in_flight()
        ready: dict[str, ActionStatement] = {}
        progressed = True
        while progressed:  # a skip can make further dependents decidable in the same pass
            progressed = False
            for action in self._definition.actions:
                if action.ref in self._reports or action.ref in in_flight or action.ref in ready:
                    continue
                if not all(dep in self._reports for dep in action.depends_on):
                    continue
                failed = [dep for dep in action.depends_on if self._reports[dep].status != "succeeded"]
                if failed:
                    self._reports[action.ref] = _skipped(action, failed)
                    progressed = True
                else:
                    ready[action.ref] = action
        return list(ready.values())

    def _batch(self, ready: list[ActionStatement]) -> list[ActionStep]:
        """The ready actions, then their followers: actions not started whose every dependency has succeeded or
        is in ``ready`` (the executor runs a follower at once only if what it reads is pure)."""
        ready_refs = {action.ref for action in ready}
        known = self._succeeded() | ready_refs
        in_flight = self._in_flight()
        followers = [
            action
            for action in self._definition.actions
            if action.ref not in self._reports
            and action.ref not in in_flight
            and action.ref not in ready_refs
            and set(action.depends_on) & ready_refs
            and set(action.depends_on) <= known
        ]
        steps = [_step(action, 1, []) for action in ready]
        steps += [_step(action, 1, [dep for dep in action.depends_on if dep in ready_refs]) for action in followers]
        return steps

    def _start(self, steps: list[ActionStep], refs: list[str]) -> None:
        """Dispatch ``steps``; ``refs`` are the ones that must end with a report (followers may not)."""
        task = asyncio.create_task(self._dispatcher.dispatch(steps, self._results_for(steps)))
        self._running[task] = refs

    def _record(self, report: ActionReport) -> None:
        action = self._actions[report.ref]
        error = report.error
        if error is not None and error.retryable and report.attempts < INFRASTRUCTURE_ATTEMPTS:
            self._running[asyncio.create_task(self._retry(action, report.attempts + 1))] = [action.ref]
            return
        self._reports[report.ref] = report

    async def _retry(self, action: ActionStatement, attempt: int) -> list[ActionReport]:
        await self._dispatcher.sleep(retry_delay_s(attempt - 1))
        step = _step(action, attempt, [])
        return await self._dispatcher.dispatch([step], self._results_for([step]))

    def _results_for(self, steps: list[ActionStep]) -> dict[str, Any]:
        """The recorded results the steps' templates read (and nothing else: it all goes into history)."""
        succeeded = self._succeeded()
        refs = {ref for step in steps for e in expressions_in(step.args) for ref in e.refs} & succeeded
        return {ref: self._reports[ref].result for ref in sorted(refs)}


def _step(action: ActionStatement, attempt: int, after: list[str]) -> ActionStep:
    return ActionStep(
        ref=action.ref,
        action=action.action,
        args=action.args,
        after=after,
        timeout_seconds=action.retry_policy.timeout,
        attempt=attempt,
    )


def _skipped(action: ActionStatement, upstream: list[str]) -> ActionReport:
    return ActionReport(
        ref=action.ref,
        action=action.action,
        status="skipped",
        error=ActionError(type="UpstreamNotSucceeded", message=f"skipped: {', '.join(upstream)} did not succeed"),
    )
