"""Run actions as Ray tasks from async code, with a bound on how many are in flight.

The task returns an Outcome for anything the action itself does (see ``outcome``); what can still raise out
of ``await ref`` is Ray's own trouble (worker crashed, node or object lost, task cancelled), and that
propagates so Temporal retries the activity per the policy set where the workflow calls it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

import ray

from services.executor.masking import step_secrets
from services.executor.outcome import ActionLimits, Outcome, run_captured
from services.executor.ray_spans import ray_task_span
from services.shared import tracing


# Retries are Temporal's job, not Ray's: the workflow author sets the policy at the call site and every
# attempt is recorded in the workflow history (and reported as ActionReport.attempts). So no retries of
# application exceptions (the task captures those anyway) and no silent re-execution after a worker crash
# (max_retries=0): a crash surfaces as a RayError, fails the activity attempt, and Temporal schedules the
# next attempt visibly.
@ray.remote(max_retries=0, retry_exceptions=False)
def run_action_task(
    name: str,
    raw_args: dict[str, Any],
    limits: ActionLimits,
    trace_carrier: dict[str, str] | None = None,
    secrets: Collection[str] = (),
) -> Outcome:
    """Ray task: run one registered action on whichever node Ray picks, under ``limits``, capturing its errors.
    ``trace_carrier``: the W3C trace context of the action's span; the task's own span is its child, made and
    exported in the Ray worker (``ray_spans``). ``secrets``: the values ``raw_args`` were rendered with (they
    are in ``raw_args`` already), masked in the worker's log lines and in the error message before it is cut."""
    if not trace_carrier:
        return run_captured(name, raw_args, limits, secrets)
    with ray_task_span(name, trace_carrier) as report:
        return report(run_captured(name, raw_args, limits, secrets))


class RayRunner:
    """Submits actions to Ray (which must be initialized) with at most ``max_in_flight`` running at once, each
    held to ``limits``."""

    def __init__(self, max_in_flight: int, limits: ActionLimits | None = None) -> None:
        self._slots = asyncio.Semaphore(max_in_flight)
        self._limits = limits or ActionLimits()

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        """Run the action; return its Outcome. Raises ray.exceptions.RayError on infrastructure failure."""
        async with self._slots:
            # The current span is the action attempt's (``batch.run_step``): the Ray task's span goes under it.
            # The step's secrets (``batch`` runs it under ``masking_step``) go along for masking in the worker.
            secrets = tuple(step_secrets())
            ref = run_action_task.remote(name, dict(raw_args), self._limits, tracing.carrier() or None, secrets)
            try:
                outcome: Outcome = await ref
            except asyncio.CancelledError:
                # The activity was cancelled or ran out of time (workflow cancelled, shutdown, the attempt's
                # limit): stop the Ray task too.
                # force=True kills the task's worker process: a polite cancel is only noticed when the task
                # next runs Python bytecode, which an action waiting on the network may not do for its whole
                # timeout. The worker process serves only this task; Ray starts a fresh one for the next.
                ray.cancel(ref, force=True)
                raise
            return outcome
