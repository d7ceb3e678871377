"""The ``run_action`` Temporal activity: run one action through a runner and report how it went."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from schemas.actions import RUN_ACTION, ActionError, ActionReport, ActionRequest
from services.executor.outcome import Outcome


class ActionRunner(Protocol):
    """Anything that runs a registered action and returns its Outcome (RayRunner in production)."""

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome: ...


#: Error type of an attempt stopped at its time limit; retryable, so Temporal retries it per the call's policy.
ACTION_TIMEOUT = "ActionTimeout"

#: How often a running attempt heartbeats: well under the heartbeat timeout the workflow sets (10 s), so a late
#: one on a loaded machine is not taken for a dead executor (the worker throttles sending to about this pace).
HEARTBEAT_INTERVAL_S = 2.0


def attempt_time_limit(info: activity.Info, now: datetime | None = None) -> float | None:
    """Seconds this attempt may run: its start-to-close timeout, or what is left of schedule-to-close, whichever
    is shorter, less a margin (a tenth, at most 1 s) so the executor's own timeout failure reaches the server
    before the server's timeout fires. None if the activity has neither timeout."""
    limits: list[timedelta] = []
    if info.start_to_close_timeout:
        limits.append(info.start_to_close_timeout)
    if info.schedule_to_close_timeout:
        limits.append(info.scheduled_time + info.schedule_to_close_timeout - (now or datetime.now(UTC)))
    if not limits:
        return None
    seconds = max(min(limits).total_seconds(), 0.0)
    return seconds - min(1.0, seconds / 10)


class ActionActivities:
    """Holds the runner the activity uses; register ``instance.run_action`` with a Temporal worker."""

    def __init__(self, runner: ActionRunner) -> None:
        self._runner = runner

    @activity.defn(name=RUN_ACTION)
    async def run_action(self, request: ActionRequest) -> ActionReport:
        """Run ``request.action``. A failing action is a *failed report*, not an activity failure; only
        infrastructure errors and running out of time raise (and Temporal retries them per the caller's retry
        policy).

        The attempt's time limit is enforced here: the server's start-to-close timeout alone never reaches a
        worker that does not heartbeat, so a stuck action would hold its Ray worker forever. At the limit the
        runner is cancelled, which force-kills the Ray task's worker process.

        While the action runs the attempt heartbeats (``HEARTBEAT_INTERVAL_S``). That tells the server the
        executor is alive: an attempt whose executor was killed, or whose start or completion was lost in a
        Temporal outage, times out within the workflow's heartbeat timeout and is retried, instead of staying
        "started" until its start-to-close timeout. The server's answer to a heartbeat also delivers cancellation
        (workflow cancelled, attempt already timed out): the runner is then cancelled the same way.
        """
        info = activity.info()
        limit = attempt_time_limit(info)
        activity.logger.debug("running %s (%s) for %s", request.action, request.ref, request.workflow_id)
        started_at, start = datetime.now(UTC), time.perf_counter()
        heartbeats = asyncio.create_task(_heartbeat_every(HEARTBEAT_INTERVAL_S), name="run_action-heartbeat")
        try:
            async with asyncio.timeout(limit) as deadline:
                outcome = await self._runner.run(request.action, request.args)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise ApplicationError(
                f"{request.action} ({request.ref}) did not finish within this attempt's limit of {limit:g} s "
                "and was stopped",
                type=ACTION_TIMEOUT,
            ) from None
        finally:
            heartbeats.cancel()
        duration_ms = (time.perf_counter() - start) * 1000
        error = None
        if not outcome.ok:
            error = ActionError(type=outcome.error_type or "Error", message=outcome.error_message or "")
            activity.logger.info(
                "action %s (%s) failed: %s: %s", request.action, request.ref, error.type, error.message
            )
        return ActionReport(
            ref=request.ref,
            action=request.action,
            status="succeeded" if outcome.ok else "failed",
            result=outcome.value,
            error=error,
            attempts=info.attempt,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            duration_ms=round(duration_ms, 3),
        )


async def _heartbeat_every(interval_s: float) -> None:
    """Heartbeat now and then every ``interval_s`` until cancelled (the attempt ended)."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(interval_s)
