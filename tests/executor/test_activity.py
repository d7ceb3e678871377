"""The ``run_actions`` activity's reports, in Temporal's ActivityEnvironment with an in-process runner.

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

from schemas.actions import ActionBatch, ActionError, ActionStep
from services.executor import activity as activity_module
from services.executor.activity import ActionActivities, attempt_time_limit
from services.executor.outcome import Outcome, run_captured


class InProcessRunner:
    """Runs the action in a thread of this process: the same capture as the Ray task, without Ray."""

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        return await asyncio.to_thread(run_captured, name, raw_args)


class CrashingRunner:
    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        raise WorkerCrashedError()


TRIGGER = {"alert": {"name": "Disk", "description": "see https://runbooks.example/disk"}}


def step(ref: str, action: str, after: list[str] | None = None, timeout: float = 5, **args: Any) -> ActionStep:
    return ActionStep(ref=ref, action=action, args=args, after=after or [], timeout_seconds=timeout)


def batch(*steps: ActionStep, results: dict[str, Any] | None = None) -> ActionBatch:
    return ActionBatch(
        workflow_id="wf-1", correlationid="alert-1", trigger=TRIGGER, results=results or {}, steps=list(steps)
    )


URLS = step("urls", "core.text.extract_urls", texts=["${{ TRIGGER.alert.description }}"])
SUMMARY = step(
    "summary",
    "core.transform.reshape",
    ["urls"],
    value={"n": "${{ TRIGGER.alert.name }}", "u": "${{ ACTIONS.urls.result }}"},
)
RUNBOOK = "https://runbooks.example/disk"


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


async def test_a_follower_of_a_pure_action_runs_in_the_same_batch_on_its_rendered_result() -> None:
    env = environment()
    heartbeats: list[Any] = []
    env.on_heartbeat = lambda *details: heartbeats.append(details)
    answer = await env.run(ActionActivities(InProcessRunner()).run_actions, batch(URLS, SUMMARY))
    urls, summary = answer.reports
    assert (urls.ref, urls.status, urls.result, urls.attempts) == ("urls", "succeeded", [RUNBOOK], 1)
    assert (summary.status, summary.result) == ("succeeded", {"n": "Disk", "u": [RUNBOOK]})
    assert summary.started_at and summary.finished_at and summary.started_at <= summary.finished_at
    assert heartbeats == []  # done within the first interval: no write on the server


class SlowSecondRunner(InProcessRunner):
    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        if name == "core.transform.reshape":
            await asyncio.sleep(0.3)
        return await super().run(name, raw_args)


async def test_a_running_batch_heartbeats_the_reports_made_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(activity_module, "HEARTBEAT_INTERVAL_S", 0.05)
    env = environment()
    heartbeats: list[Any] = []
    env.on_heartbeat = lambda *details: heartbeats.append(details)
    await env.run(ActionActivities(SlowSecondRunner()).run_actions, batch(URLS, SUMMARY))
    # While ``summary`` ran, every heartbeat carried ``urls``'s report: a retried attempt resumes from it.
    assert heartbeats and all([r.ref for r in details] == ["urls"] for details in heartbeats[-3:])


async def test_a_follower_of_an_action_with_side_effects_is_left_to_the_workflow() -> None:
    activities = ActionActivities(InProcessRunner(), pure=lambda name: False)
    answer = await environment().run(activities.run_actions, batch(URLS, SUMMARY))
    assert [report.ref for report in answer.reports] == ["urls"]


async def test_a_failed_action_is_a_failed_report_and_its_follower_does_not_run() -> None:
    unknown = step("urls", "core.unknown")
    answer = await environment().run(ActionActivities(InProcessRunner()).run_actions, batch(unknown, SUMMARY))
    [report] = answer.reports
    assert (report.status, report.result) == ("failed", None)
    assert report.error == ActionError(type="UnknownAction", message=report.error.message if report.error else "")


async def test_a_template_that_cannot_be_rendered_fails_its_step() -> None:
    bad = step("bad", "core.transform.reshape", value="${{ TRIGGER.alert.missing }}")
    [report] = (await environment().run(ActionActivities(InProcessRunner()).run_actions, batch(bad))).reports
    assert report.error is not None and report.error.type == "TemplateError" and not report.error.retryable
    assert "no key 'missing'" in report.error.message


async def test_an_infrastructure_failure_is_a_retryable_report() -> None:
    one = step("one", "core.transform.reshape", value=1)
    [report] = (await environment().run(ActionActivities(CrashingRunner()).run_actions, batch(one))).reports
    assert report.status == "failed"
    assert report.error is not None and report.error.type == "WorkerCrashedError" and report.error.retryable


async def test_a_retried_attempt_resumes_from_the_reports_heartbeat_before() -> None:
    env = environment()
    first = await env.run(ActionActivities(InProcessRunner()).run_actions, batch(URLS))
    env.info = dataclasses.replace(env.info, attempt=2, heartbeat_details=[first.reports[0].model_dump(mode="json")])
    runner = HangingRunner()  # would hang if ``urls`` ran again
    answer = await env.run(ActionActivities(runner).run_actions, batch(URLS))
    assert answer.reports == first.reports and not runner.cancelled


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


async def test_a_step_over_its_time_limit_is_stopped_and_left_to_the_retry_policy() -> None:
    runner = HangingRunner()
    hanging = step("step", "core.any", timeout=0.2)
    [report] = (await environment().run(ActionActivities(runner).run_actions, batch(hanging))).reports
    # Not an infrastructure failure: the action's retry_policy (max_attempts, non_retryable) decides.
    assert report.error is not None and report.error.type == "ActionTimeout" and not report.error.retryable
    assert report.error.message == "core.any (step) did not finish within its limit of 0.2 s and was stopped"
    assert runner.cancelled


async def test_an_attempt_over_its_time_limit_is_stopped_and_fails_retryably() -> None:
    runner = HangingRunner()
    hanging = step("step", "core.any", timeout=60)
    with pytest.raises(ApplicationError) as failed:
        await environment(start_to_close=0.5).run(ActionActivities(runner).run_actions, batch(hanging))
    assert failed.value.type == "ActionTimeout" and not failed.value.non_retryable
    assert failed.value.message == "actions step did not finish within this attempt's limit of 0.45 s and were stopped"
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
