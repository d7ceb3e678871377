"""The ``run_action`` activity's report, in Temporal's ActivityEnvironment with an in-process runner.

The Ray runner itself is exercised in ``test_ray_runner`` and ``test_worker`` (integration).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ray.exceptions import WorkerCrashedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from schemas.actions import ActionError, ActionRequest
from services.executor.activity import ActionActivities, attempt_time_limit
from services.executor.outcome import Outcome, run_captured


class InProcessRunner:
    """Runs the action in a thread of this process: the same capture as the Ray task, without Ray."""

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        return await asyncio.to_thread(run_captured, name, raw_args)


class CrashingRunner:
    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        raise WorkerCrashedError()


def request(action: str, **args: Any) -> ActionRequest:
    return ActionRequest(workflow_id="wf-1", ref="step", action=action, args=args, correlationid="alert-1")


def environment(start_to_close: float = 10, schedule_to_close: float | None = None) -> ActivityEnvironment:
    """An activity environment whose info has these timeouts and was scheduled just now."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        scheduled_time=datetime.now(UTC),
        start_to_close_timeout=timedelta(seconds=start_to_close),
        schedule_to_close_timeout=timedelta(seconds=schedule_to_close) if schedule_to_close else None,
    )
    return env


async def test_success_report() -> None:
    activities = ActionActivities(InProcessRunner())
    report = await environment().run(activities.run_action, request("core.transform.reshape", value=[1]))
    assert (report.ref, report.action, report.status, report.result, report.error) == (
        "step",
        "core.transform.reshape",
        "succeeded",
        [1],
        None,
    )
    assert report.attempts == 1
    assert report.started_at and report.finished_at and report.started_at <= report.finished_at
    assert report.duration_ms is not None and report.duration_ms >= 0


async def test_failed_action_is_a_failed_report_not_an_exception() -> None:
    activities = ActionActivities(InProcessRunner())
    report = await environment().run(activities.run_action, request("core.unknown"))
    assert report.status == "failed"
    assert report.result is None
    assert report.error is not None and report.error.type == "UnknownAction"
    assert report.error == ActionError(type="UnknownAction", message=report.error.message)


async def test_infrastructure_failure_raises_for_temporal_to_retry() -> None:
    activities = ActionActivities(CrashingRunner())
    with pytest.raises(WorkerCrashedError):
        await environment().run(activities.run_action, request("core.transform.reshape", value=1))


class HangingRunner:
    """Never finishes on its own; records whether it was cancelled (the Ray runner then force-kills its task)."""

    def __init__(self) -> None:
        self.cancelled = False

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")


async def test_attempt_over_its_time_limit_is_stopped_and_fails_retryably() -> None:
    runner = HangingRunner()
    with pytest.raises(ApplicationError) as failed:
        await environment(start_to_close=0.5).run(ActionActivities(runner).run_action, request("core.any"))
    assert failed.value.type == "ActionTimeout" and not failed.value.non_retryable
    assert (
        failed.value.message == "core.any (step) did not finish within this attempt's limit of 0.45 s and was stopped"
    )
    assert runner.cancelled


def test_attempt_time_limit_leaves_a_margin_before_the_servers_timeout() -> None:
    now = datetime.now(UTC)
    info = environment(start_to_close=30).info
    assert attempt_time_limit(info, now) == 29.0  # a tenth, at most 1 s
    assert attempt_time_limit(dataclasses.replace(info, start_to_close_timeout=timedelta(seconds=2)), now) == 1.8
    # What is left of schedule-to-close wins when it is shorter than start-to-close.
    later = dataclasses.replace(
        info, scheduled_time=now - timedelta(seconds=50), schedule_to_close_timeout=timedelta(seconds=60)
    )
    assert attempt_time_limit(later, now) == 9.0
    assert attempt_time_limit(dataclasses.replace(info, start_to_close_timeout=None), now) is None
