"""The ``run_actions`` Temporal activity: run one batch of a workflow's actions and report each.

How a batch runs (ready steps at once, pure followers after them, per-step time limits) is ``batch``; this
module is what Temporal adds: heartbeats while the batch runs, each carrying the reports made so far, so a batch
retried after its executor died resumes with only the unfinished steps; and the attempt's own time limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from schemas.actions import RUN_ACTIONS, ActionBatch, ActionReport, BatchReport
from services.executor.actions import is_pure
from services.executor.batch import (
    ACTION_TIMEOUT,
    ActionRunner,
    BatchRun,
    ReportKey,
    StepServices,
    report_key,
)

#: How often a running batch heartbeats: well under the heartbeat timeout the workflow sets (10 s), so a late
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
    """Holds the runner the activity uses and where steps get secrets and keep large results; register
    ``instance.run_actions`` with a Temporal worker."""

    def __init__(
        self, runner: ActionRunner, pure: Callable[[str], bool] = is_pure, services: StepServices | None = None
    ) -> None:
        self._runner = runner
        self._pure = pure
        self._services = services or StepServices()

    @activity.defn(name=RUN_ACTIONS)
    async def run_actions(self, batch: ActionBatch) -> BatchReport:
        """Run ``batch``; every step's outcome, failures included, is a report (see ``batch``). Raises only when
        the whole attempt ran out of time (Temporal then retries it per the workflow's policy).

        While it runs, the attempt heartbeats every ``HEARTBEAT_INTERVAL_S`` with the reports made so far: the
        server then knows the executor is alive (an attempt whose executor was killed times out within the
        workflow's heartbeat timeout and is retried instead of waiting out its start-to-close timeout), and a
        retried attempt starts from those reports. The first heartbeat comes only after one interval: every
        heartbeat is a write on the server, and most batches finish in milliseconds. The server's answer to a
        heartbeat also delivers cancellation; the steps' Ray tasks are then force-stopped.
        """
        info = activity.info()
        done = _reports_heartbeated(info)
        made: list[ActionReport] = list(done.values())

        refs = ", ".join(step.ref for step in batch.steps)
        activity.logger.debug("running %s for %s (attempt %d)", refs, batch.workflow_id, info.attempt)
        run = BatchRun(
            batch,
            self._runner,
            self._pure,
            done=done,
            on_report=made.append,
            extra_attempts=info.attempt - 1,
            services=self._services,
        )
        heartbeats = asyncio.create_task(_heartbeat_every(HEARTBEAT_INTERVAL_S, made), name="run_actions-heartbeat")
        limit = attempt_time_limit(info)
        try:
            async with asyncio.timeout(limit) as deadline:
                return BatchReport(reports=await run.run())
        except asyncio.CancelledError:
            if activity.is_worker_shutdown():
                raise
            # The workflow cancelled the batch (its run's config.timeout passed) and waits for this answer: the
            # steps that finished keep their outcomes; the others were stopped and have no report.
            activity.logger.info(
                "batch for %s cancelled; answering with %d finished steps", batch.workflow_id, len(made)
            )
            return BatchReport(reports=made)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise ApplicationError(
                f"actions {refs} did not finish within this attempt's limit of {limit:g} s and were stopped",
                type=ACTION_TIMEOUT,
            ) from None
        finally:
            heartbeats.cancel()


def _reports_heartbeated(info: activity.Info) -> dict[ReportKey, ActionReport]:
    """Reports an earlier attempt of this batch heartbeat before it was lost, by ref and for_each item."""
    reports = [ActionReport.model_validate(detail) for detail in info.heartbeat_details]
    return {report_key(report): report for report in reports}


async def _heartbeat_every(interval_s: float, made: list[ActionReport]) -> None:
    """Heartbeat every ``interval_s`` with the reports in ``made`` until cancelled (the attempt ended)."""
    while True:
        await asyncio.sleep(interval_s)
        activity.heartbeat(*made)
