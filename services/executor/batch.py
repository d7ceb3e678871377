"""Run one ActionBatch: its ready steps at once, each follower as soon as the pure steps it reads succeeded.

Temporal-free (the ``run_actions`` activity wraps it), so its order and failure rules are tested with plain
asyncio. Every step ends as a report; nothing a step does escapes as an exception:
- the action raised, or its templates could not be rendered: a failed report (the action's own outcome);
- the attempt ran out of its time limit, or Ray failed under it: a failed report marked ``retryable``, so the
  workflow runs the action again per its retry policy, visibly, as a new attempt.
Only cancellation (the activity was cancelled or timed out) stops the batch; every running step is cancelled,
which force-stops its Ray task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from dsl.templates import TemplateContext, TemplateError, render
from schemas.actions import ActionBatch, ActionError, ActionReport, ActionStep
from services.executor.outcome import Outcome

log = logging.getLogger(__name__)

#: Error type of an attempt stopped at its time limit.
ACTION_TIMEOUT = "ActionTimeout"


class ActionRunner(Protocol):
    """Anything that runs a registered action and returns its Outcome (RayRunner in production)."""

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome: ...


class BatchRun:
    """One run of one batch. ``done`` holds reports of steps an earlier attempt finished (they are not run
    again); ``on_report`` sees each new report as it is made (the activity heartbeats them)."""

    def __init__(
        self,
        batch: ActionBatch,
        runner: ActionRunner,
        is_pure: Callable[[str], bool],
        *,
        done: Mapping[str, ActionReport] | None = None,
        on_report: Callable[[ActionReport], None] = lambda report: None,
        extra_attempts: int = 0,
    ) -> None:
        self._batch = batch
        self._runner = runner
        self._is_pure = is_pure
        self._reports: dict[str, ActionReport] = dict(done or {})
        self._on_report = on_report
        # A retried activity attempt is a new attempt of every step it runs again.
        self._extra_attempts = extra_attempts

    async def run(self) -> list[ActionReport]:
        """Reports of the steps that ran, in the batch's order."""
        waiting = [step for step in self._batch.steps if step.ref not in self._reports]
        running: dict[asyncio.Task[ActionReport], str] = {}
        try:
            while True:
                waiting = self._start_runnable(waiting, running)
                if not running:
                    break
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    report = task.result()
                    self._reports[running.pop(task)] = report
                    self._on_report(report)
        finally:
            for task in running:
                task.cancel()
        return [self._reports[step.ref] for step in self._batch.steps if step.ref in self._reports]

    def _start_runnable(
        self, waiting: list[ActionStep], running: dict[asyncio.Task[ActionReport], str]
    ) -> list[ActionStep]:
        """Start every step whose batch inputs are all reported and usable; drop those that never will be."""
        still_waiting = []
        for step in waiting:
            if not all(ref in self._reports for ref in step.after):
                still_waiting.append(step)
            elif all(self._usable(self._reports[ref]) for ref in step.after):
                running[asyncio.create_task(self._run_step(step), name=f"action-{step.ref}")] = step.ref
            # else: an input failed or has side effects; the workflow decides (skip, or dispatch it later).
        return still_waiting

    def _usable(self, report: ActionReport) -> bool:
        return report.status == "succeeded" and self._is_pure(report.action)

    def _context(self) -> TemplateContext:
        results = dict(self._batch.results)
        results.update({ref: r.result for ref, r in self._reports.items() if r.status == "succeeded"})
        return TemplateContext(trigger=self._batch.trigger, results=results)

    async def _run_step(self, step: ActionStep) -> ActionReport:
        attempts = step.attempt + self._extra_attempts
        try:
            args = render(step.args, self._context())
        except TemplateError as error:
            now = datetime.now(UTC)
            return _report(step, Outcome.failure(error), attempts, now, 0.0)
        return await run_step(self._runner, step, args, attempts)


async def run_step(runner: ActionRunner, step: ActionStep, args: Mapping[str, Any], attempts: int) -> ActionReport:
    """Run ``step`` with its rendered ``args`` under its time limit; every outcome is a report (see above)."""
    started_at, clock = datetime.now(UTC), time.perf_counter()

    def elapsed_ms() -> float:
        return (time.perf_counter() - clock) * 1000

    deadline = asyncio.timeout(step.timeout_seconds)
    try:
        async with deadline:
            outcome = await runner.run(step.action, args)
        return _report(step, outcome, attempts, started_at, elapsed_ms())
    except Exception as error:
        if isinstance(error, TimeoutError) and deadline.expired():
            limit = f"{step.timeout_seconds:g} s"
            message = f"{step.action} ({step.ref}) did not finish within its limit of {limit} and was stopped"
            outcome = Outcome(ok=False, error_type=ACTION_TIMEOUT, error_message=message)
        else:
            # Ray's own trouble (worker crashed, node lost), not the action's: it may run again.
            log.warning("action %s (%s) lost to %s: %s", step.action, step.ref, type(error).__name__, error)
            outcome = Outcome.failure(error)
        return _report(step, outcome, attempts, started_at, elapsed_ms(), retryable=True)


def _report(
    step: ActionStep, outcome: Outcome, attempts: int, started_at: datetime, ms: float, retryable: bool = False
) -> ActionReport:
    error = None
    if not outcome.ok:
        kind = outcome.error_type or "Error"
        error = ActionError(type=kind, message=outcome.error_message or "", retryable=retryable)
        log.info("action %s (%s) failed: %s: %s", step.action, step.ref, kind, error.message)
    return ActionReport(
        ref=step.ref,
        action=step.action,
        status="succeeded" if outcome.ok else "failed",
        result=outcome.value,
        error=error,
        attempts=attempts,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        duration_ms=round(ms, 3),
    )
