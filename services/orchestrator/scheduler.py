"""Runs a workflow definition's actions as a DAG, in batches: one dispatch per set of plain actions that became
ready together, each carrying the actions that depend only on that set (its *followers*, which the executor may
run in the same batch; see ``schemas.actions``).

The loop is here; the DSL's rules are in small modules: ``edges`` (success/error edges, joins, skips),
``retry_policy`` (which failures run again, after how long), ``loops`` (for_each items), ``evaluation`` (run_if,
wait_until and child args, evaluated in the workflow). A plain action (no run_if, for_each, timers or child
workflow) costs exactly what it did before these features: no timers, no extra activities.

It only needs "dispatch these steps", "run this child workflow", "wait for the first of these tasks", "sleep" and
"now" functions, so the workflow passes Temporal-safe ones (activities, child workflows, ``workflow.wait``,
durable timers) and unit tests plain asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from dsl.durations import MAX_SECONDS
from dsl.expressions import expressions_in
from dsl.model import (
    CHILD_WORKFLOW_ACTION,
    ActionStatement,
    ChildWorkflowArgs,
    OnResolved,
    WorkflowDefinition,
)
from dsl.templates import TemplateContext, TemplateError
from schemas import ActionError, ActionReport, ActionStep
from services.orchestrator.edges import decide, skipped, skipped_by_run_if
from services.orchestrator.evaluation import RunContext, condition_holds, render_in_workflow, wait_until_time
from services.orchestrator.loops import DEFAULT_MAX_ITEMS, TOO_MANY_ITEMS, Loop, expand, too_many_items
from services.orchestrator.retry_policy import next_attempt_delay

DispatchTask = asyncio.Task[list[ActionReport]]
#: Error type of the actions a run's ``config.timeout`` cut short.
WORKFLOW_TIMEOUT = "WorkflowTimeout"
#: How long a timed-out run waits for its cancelled batches to answer with the steps that finished: the executor
#: learns of the cancellation with its next heartbeat (every 2 s), and a batch whose executor is gone would
#: otherwise be waited for until its heartbeat timeout (10 s) and its retries.
CANCEL_GRACE_S = 10.0
#: The ``workflow.patched`` id of the bounds on what alert data can make a run do (a for_each action's items, a
#: wait_until timer): asked only when a bound is exceeded, so a run recorded before them replays as it ran.
BOUNDS_PATCH = "alert-data-bounds"
#: Error type of an action whose wait_until is further away than a timer may wait (``MAX_SECONDS``).
TIMER_TOO_LONG = "TimerTooLong"
#: Error type of the actions ``on_resolved.cancel_pending`` skipped, and of ``on_resolved.run`` actions skipped
#: because the run ended before its alert resolved.
ALERT_RESOLVED = "AlertResolved"
NOT_RESOLVED = "AlertNotResolved"

__all__ = [
    "ALERT_RESOLVED",
    "BOUNDS_PATCH",
    "NOT_RESOLVED",
    "TIMER_TOO_LONG",
    "WORKFLOW_TIMEOUT",
    "DagScheduler",
    "DispatchTask",
    "Dispatcher",
    "Resolution",
]


class Dispatcher(Protocol):
    """How the scheduler reaches the outside world (Temporal in the workflow, asyncio in tests)."""

    def dispatch(
        self, steps: list[ActionStep], results: dict[str, Any], errors: dict[str, Any]
    ) -> Coroutine[Any, Any, list[ActionReport]]:
        """Run ``steps`` as one batch, their templates reading ``results`` and ``errors`` (by ref). The reports of
        the steps that ran, each with its ``item``: a follower may have none; a ready step that failed, even for
        good, has a failed report, not an exception. Cancelled, it answers with the reports of the steps that
        finished, or raises CancelledError."""

    def child(
        self, action: ActionStatement, args: ChildWorkflowArgs, item: int | None, attempt: int
    ) -> Coroutine[Any, Any, ActionReport]:
        """Run the child workflow ``args`` names, as attempt ``attempt`` of ``action`` (``item``: its for_each item,
        or None). Its report's result is the child's ``returns`` (waited for) or its workflow_id and run_id
        (detached); a child that failed or could not start is a failed report, not an exception."""

    def wait_first(self, tasks: list[DispatchTask]) -> Coroutine[Any, Any, Sequence[DispatchTask]]:
        """Wait until at least one of ``tasks`` is done; the tasks done, in any order (the scheduler sorts them)."""

    def sleep(self, seconds: float) -> Coroutine[Any, Any, list[ActionReport]]:
        """Wait ``seconds`` (durably in the workflow) and answer no reports, so a timer is a ``DispatchTask`` too."""

    def now(self) -> datetime:
        """The current time, timezone-aware, as the workflow sees it (the same on every replay)."""


@dataclass(frozen=True)
class Resolution:
    """The definition's ``on_resolved`` and how to wait for the alert to resolve (a Temporal signal in the
    workflow); the waiter's task ends when it has."""

    rules: OnResolved
    wait: Callable[[], Coroutine[Any, Any, list[ActionReport]]]


@dataclass(frozen=True)
class _Job:
    """What a running task stands for: a batch (``refs`` must each end with a report; followers may not), the
    first attempts of several items of one for_each action, the timer before an action, or one attempt of one
    action (``item`` for a for_each item)."""

    kind: Literal["batch", "items", "timer", "attempt"]
    refs: tuple[str, ...]
    item: int | None = None


class DagScheduler:
    """One run of one definition; ``run`` returns a report per action, in definition order."""

    def __init__(
        self,
        definition: WorkflowDefinition,
        dispatcher: Dispatcher,
        *,
        context: RunContext | None = None,
        timeout: float | None = None,
        resolution: Resolution | None = None,
        max_items: int = DEFAULT_MAX_ITEMS,
        bounds_apply: Callable[[], bool] = lambda: True,
    ) -> None:
        """``timeout``: seconds after which unfinished actions are cancelled and reported failed. ``resolution``: how
        the run reacts when its alert resolves while it runs (None: it does not listen). ``max_items``: the most
        items a for_each action may have. ``bounds_apply`` is asked only when a loop has more, or a wait_until is
        more than ``MAX_SECONDS`` away (the workflow's ``patched`` gate, ``BOUNDS_PATCH``: a run recorded before
        the bounds replays as it ran)."""
        self._definition = definition
        self._timeout = timeout
        self._context = context or RunContext(trigger={})
        self._actions = {action.ref: action for action in definition.actions}
        self._position = {action.ref: i for i, action in enumerate(definition.actions)}
        self._dispatcher = dispatcher
        self._max_items = max_items
        self._bounds_apply = bounds_apply
        self._reports: dict[str, ActionReport] = {}
        self._running: dict[DispatchTask, _Job] = {}
        #: Refs started (batch, timer, loop, child, retry) that have no final report yet.
        self._busy: set[str] = set()
        #: Refs whose run_if held and whose timer (if any) has elapsed: they start when next decided.
        self._cleared: set[str] = set()
        self._loops: dict[str, Loop] = {}
        self.timed_out = False
        self._resolution = resolution
        #: ``on_resolved.run`` refs: held back until the alert resolves.
        self._held = frozenset(resolution.rules.run) if resolution is not None else frozenset()
        self.resolved = False

    async def run(self) -> list[ActionReport]:
        """Run the definition to its end: one report per action, in definition order; an action that failed or was
        skipped has its report, nothing is raised for it. Afterwards ``timed_out`` says whether ``timeout`` cut
        the run short, ``resolved`` whether the alert resolved while it ran."""
        deadline = asyncio.create_task(self._dispatcher.sleep(self._timeout)) if self._timeout else None
        resolving = asyncio.create_task(self._resolution.wait()) if self._resolution is not None else None
        while True:
            self._advance()
            if not self._running:
                # Nothing left but held actions: the run will not wait for its alert. Skipping them may decide
                # what depends on them, so the loop goes on until that is done too.
                if self._skip_unresolved():
                    continue
                break
            listening = [resolving] if resolving is not None and not self.resolved else []
            done = await self._dispatcher.wait_first([*self._running, *([deadline] if deadline else []), *listening])
            if deadline is not None and deadline in done:
                await self._time_out()
                break
            if resolving is not None and resolving in done and not self.resolved:
                self._resolve()
            # Record in definition order, never in completion-set order, so replays see the same sequence.
            for task in sorted((task for task in done if task in self._running), key=self._order):
                job = self._running.pop(task)
                self._finish(job, task.result())
        if deadline is not None and not deadline.done():
            deadline.cancel()
        if resolving is not None and not resolving.done():
            resolving.cancel()
        self._skip_unresolved()
        return [self._reports[action.ref] for action in self._definition.actions]

    # The alert's lifecycle (on_resolved).
    def _holding(self, ref: str) -> bool:
        """Whether ``ref`` is an on_resolved action still waiting for its alert to resolve."""
        return ref in self._held and not self.resolved

    def _resolve(self) -> None:
        """The alert resolved: release the on_resolved actions; with cancel_pending, skip every other action that
        has not started (cancelling the timers some are waiting on)."""
        self.resolved = True
        assert self._resolution is not None
        if not self._resolution.rules.cancel_pending:
            return
        for task, job in list(self._running.items()):
            if job.kind == "timer":
                task.cancel()
                del self._running[task]
                self._busy.discard(job.refs[0])
        for action in self._definition.actions:
            if action.ref not in self._reports and action.ref not in self._busy and action.ref not in self._held:
                self._reports[action.ref] = _skipped_as(action, ALERT_RESOLVED, "the alert resolved before it started")

    def _skip_unresolved(self) -> bool:
        """Nothing else runs: the on_resolved actions that never started (the alert did not resolve in time) are
        skipped; True when there were any."""
        skipped_any = False
        for action in self._definition.actions:
            if action.ref in self._held and action.ref not in self._reports and action.ref not in self._busy:
                message = "the alert did not resolve while the run was going"
                self._reports[action.ref] = _skipped_as(action, NOT_RESOLVED, message)
                skipped_any = True
        return skipped_any

    def _order(self, task: DispatchTask) -> tuple[int, int]:
        job = self._running[task]
        return self._position[job.refs[0]], job.item if job.item is not None else -1

    # Deciding what starts.
    def _advance(self) -> None:
        """Skip what can no longer run, start what can (plain actions together in one batch)."""
        ready: dict[str, ActionStatement] = {}
        progressed = True
        while progressed:  # a skip or an instant outcome can make further dependents decidable in the same pass
            progressed = False
            for action in self._definition.actions:
                ref = action.ref
                if ref in self._reports or ref in self._busy or ref in ready or self._holding(ref):
                    continue
                decision = decide(action, self._reports)
                if decision.verdict == "wait":
                    continue
                if decision.verdict == "skip":
                    self._reports[ref] = skipped(action, decision)
                    progressed = True
                elif ref not in self._cleared and not _plain(action):
                    progressed |= self._clear(action)
                elif action.for_each is not None or action.action == CHILD_WORKFLOW_ACTION:
                    progressed |= self._start_special(action)
                else:
                    ready[ref] = action
        if ready:
            self._start_batch(list(ready.values()))

    def _clear(self, action: ActionStatement) -> bool:
        """Evaluate run_if and the timers of an action whose edges hold; True when it ended here (a report)."""
        ref = action.ref
        context = self._context.with_reports(self._reports)
        try:
            if action.run_if is not None and not condition_holds(action.run_if, context):
                self._reports[ref] = skipped_by_run_if(action)
                return True
            delay = self._delay(action, context)
        except TemplateError as error:
            self._reports[ref] = self._failed(action, "TemplateError", str(error), 0)
            return True
        if delay > MAX_SECONDS and self._bounds_apply():
            # A moment from alert data ("9999-12-31") would keep the run open for millennia.
            message = (
                f"wait_until {action.wait_until!r} is {delay:.0f} s away, more than the {MAX_SECONDS} s (366 days) "
                "a timer may wait"
            )
            self._reports[ref] = self._failed(action, TIMER_TOO_LONG, message, 0)
            return True
        self._cleared.add(ref)
        if delay > 0:
            self._busy.add(ref)
            self._running[asyncio.create_task(self._dispatcher.sleep(delay))] = _Job("timer", (ref,))
            return False
        return True  # starts in this same pass

    def _delay(self, action: ActionStatement, context: TemplateContext) -> float:
        """start_delay, then until wait_until (a moment in the past waits no longer)."""
        delay = action.start_delay
        if action.wait_until is not None:
            until = wait_until_time(action.wait_until, context)
            delay += max(0.0, (until - self._dispatcher.now()).total_seconds() - action.start_delay)
        return delay

    def _start_special(self, action: ActionStatement) -> bool:
        """Start a for_each action's first items, or a child workflow; True when it ended at once."""
        ref = action.ref
        if action.for_each is None:
            self._busy.add(ref)
            self._start_attempt(action, None, {}, 1, 0.0)
            return False
        try:
            items = expand(action, self._context.with_reports(self._reports))
        except TemplateError as error:
            self._reports[ref] = self._failed(action, "TemplateError", str(error), 0)
            return True
        too_many = too_many_items(len(items), self._max_items)
        if too_many is not None and self._bounds_apply():
            self._reports[ref] = self._failed(action, TOO_MANY_ITEMS, too_many, 0)
            return True
        loop = self._loops[ref] = Loop(action, items)
        if loop.done():
            self._reports[ref] = loop.report()
            return True
        self._busy.add(ref)
        self._start_items(loop)
        return False

    def _start_items(self, loop: Loop) -> None:
        """Start the items the concurrency cap allows. The first attempts of executor items go together in one
        batch (one activity, not one per item; a 32-item loop costs what a 32-way fan-out does); a child
        workflow item, or a retry, is an attempt of its own."""
        items = loop.startable()
        action = loop.action
        if action.action != CHILD_WORKFLOW_ACTION and len(items) > 1:
            steps = [_step(action, 1, [], item, loop.items[item]) for item in items]
            self._start(steps, _Job("items", (action.ref,)))
            return
        for item in items:
            self._start_attempt(action, item, loop.items[item], 1, 0.0)

    def _start_batch(self, ready: list[ActionStatement]) -> None:
        """The ready actions, then their followers: plain actions not started whose every edge is a success edge
        from an action that succeeded or is in ``ready`` (the executor runs a follower at once only if what it
        reads is pure)."""
        ready_refs = {action.ref for action in ready}
        known = {ref for ref, r in self._reports.items() if r.status == "succeeded"} | ready_refs
        followers = [
            action
            for action in self._definition.actions
            if action.ref not in self._reports
            and action.ref not in self._busy
            and action.ref not in ready_refs
            and not self._holding(action.ref)
            and _plain(action)
            and action.for_each is None
            and action.action != CHILD_WORKFLOW_ACTION
            and action.join_strategy == "all"
            and all(kind == "success" for _, kind in action.edges())
            and {ref for ref, _ in action.edges()} & ready_refs
            and {ref for ref, _ in action.edges()} <= known
        ]
        steps = [_step(action, 1, []) for action in ready]
        steps += [_step(action, 1, [ref for ref, _ in action.edges() if ref in ready_refs]) for action in followers]
        self._start(steps, _Job("batch", tuple(action.ref for action in ready)))

    def _start(self, steps: list[ActionStep], job: _Job) -> None:
        self._busy.update(job.refs)
        task = asyncio.create_task(self._dispatcher.dispatch(steps, *self._inputs_for(steps)))
        self._running[task] = job

    def _start_attempt(
        self, action: ActionStatement, item: int | None, loop: dict[str, Any], attempt: int, delay: float
    ) -> None:
        """One attempt of one action (or for_each item) on its own, after ``delay`` seconds."""
        context = self._context.with_reports(self._reports, loop)
        task = asyncio.create_task(self._attempt(action, item, loop, attempt, delay, context))
        self._running[task] = _Job("attempt", (action.ref,), item)

    async def _attempt(
        self,
        action: ActionStatement,
        item: int | None,
        loop: dict[str, Any],
        attempt: int,
        delay: float,
        context: TemplateContext,
    ) -> list[ActionReport]:
        if delay > 0:
            await self._dispatcher.sleep(delay)
        if action.action == CHILD_WORKFLOW_ACTION:
            try:
                args = ChildWorkflowArgs.model_validate(render_in_workflow(action.args, context))
            except (TemplateError, ValidationError) as error:
                report = self._failed(action, type(error).__name__, str(error), attempt)
            else:
                report = await self._dispatcher.child(action, args, item, attempt)
            return [report.model_copy(update={"item": item})]
        step = _step(action, attempt, [], item, loop)
        reports = await self._dispatcher.dispatch([step], *self._inputs_for([step]))
        return [report.model_copy(update={"item": item}) for report in reports]

    # Recording what came back.
    def _finish(self, job: _Job, reports: list[ActionReport]) -> None:
        if job.kind == "timer":
            self._busy.discard(job.refs[0])
            return
        for report in reports:
            self._record(report, job)
        # A ready step always has a report; if a dispatcher answered without one, the action must not hang.
        for ref in job.refs:
            if job.kind == "batch" and ref not in self._reports and not self._retrying(ref):
                self._busy.discard(ref)

    def _retrying(self, ref: str) -> bool:
        return any(job.refs == (ref,) and job.kind == "attempt" for job in self._running.values())

    def _record(self, report: ActionReport, job: _Job) -> None:
        action = self._actions[report.ref]
        delay = next_attempt_delay(report, action.retry_policy)
        loop = self._loops.get(action.ref)
        if delay is not None:
            variables = loop.items[report.item] if loop is not None and report.item is not None else {}
            self._busy.add(action.ref)
            self._start_attempt(action, report.item, variables, report.attempts + 1, delay)
            return
        if loop is not None and report.item is not None:
            loop.finish(report)
            if loop.done():
                self._reports[action.ref] = loop.report()
                self._busy.discard(action.ref)
            else:
                self._start_items(loop)
            return
        self._reports[report.ref] = report.model_copy(update={"item": None}) if report.item is not None else report
        self._busy.discard(report.ref)

    async def _time_out(self) -> None:
        """config.timeout passed: cancel everything in flight and keep what finished before it. A cancelled batch
        answers with the reports of its steps that finished (the executor stops the others), waited for at most
        ``CANCEL_GRACE_S``; every action still without a report failed with WorkflowTimeout. Nothing new starts:
        no retry, no further loop item."""
        self.timed_out = True
        for task in self._running:
            task.cancel()
        grace = asyncio.create_task(self._dispatcher.sleep(CANCEL_GRACE_S))
        while self._running:
            done = await self._dispatcher.wait_first([*self._running, grace])
            if grace in done:
                break
            self._keep_finished(done)
        if not grace.done():
            grace.cancel()
        self._running.clear()
        message = f"the run's config.timeout of {self._timeout:g} s passed before this action finished"
        for action in self._definition.actions:
            # An on_resolved action still held never started: _skip_unresolved reports it skipped, not failed.
            if action.ref not in self._reports and not (self._holding(action.ref) and action.ref not in self._busy):
                self._reports[action.ref] = self._failed(action, WORKFLOW_TIMEOUT, message, 0)

    def _keep_finished(self, done: Sequence[DispatchTask]) -> None:
        """Stop tracking the cancelled tasks in ``done`` and keep the reports of the whole actions that finished
        before they were stopped (a for_each item's is left out); a task that raised or ended cancelled has none."""
        for task in sorted(done, key=self._order):
            del self._running[task]
            if task.cancelled() or task.exception() is not None:
                continue
            for report in task.result():
                if report.item is None and report.ref not in self._reports:
                    self._reports[report.ref] = report

    def _failed(self, action: ActionStatement, kind: str, message: str, attempts: int) -> ActionReport:
        """A failure decided in the workflow (an expression that could not be evaluated, a timeout)."""
        now = self._dispatcher.now()
        return ActionReport(
            ref=action.ref,
            action=action.action,
            status="failed",
            error=ActionError(type=kind, message=message),
            attempts=attempts,
            started_at=now,
            finished_at=now,
            duration_ms=0.0,
        )

    def _inputs_for(self, steps: list[ActionStep]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The recorded results and errors the steps' templates read (and nothing else: it all goes into
        history): results of succeeded actions, errors of failed or skipped ones."""
        read = [e for step in steps for e in expressions_in([step.args, step.retry_until])]
        refs = sorted({ref for e in read for ref in e.refs} & set(self._reports))
        results = {ref: self._reports[ref].result for ref in refs if self._reports[ref].status == "succeeded"}
        errors = {}
        for ref in refs:
            error = self._reports[ref].error
            if error is not None:
                errors[ref] = error.model_dump(mode="json")
        return results, errors


def _skipped_as(action: ActionStatement, kind: str, message: str) -> ActionReport:
    return ActionReport(
        ref=action.ref, action=action.action, status="skipped", error=ActionError(type=kind, message=message)
    )


def _plain(action: ActionStatement) -> bool:
    """No workflow-side work before it starts (run_if, timers): it may start as soon as its edges hold."""
    return action.run_if is None and action.start_delay == 0 and action.wait_until is None


def _step(
    action: ActionStatement, attempt: int, after: list[str], item: int | None = None, loop: dict[str, Any] | None = None
) -> ActionStep:
    return ActionStep(
        ref=action.ref,
        action=action.action,
        args=action.args,
        after=after,
        timeout_seconds=action.retry_policy.timeout,
        attempt=attempt,
        item=item,
        loop=loop or {},
        retry_until=action.retry_policy.retry_until,
    )
