"""Build the executor's Temporal worker from settings and a client (so tests build the same worker)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from services.executor.activity import HEARTBEAT_INTERVAL_S, ActionActivities
from services.executor.batch import ActionRunner
from services.executor.config import ExecutorSettings
from services.executor.ray_runner import RayRunner


def build_worker(client: Client, settings: ExecutorSettings, runner: ActionRunner | None = None) -> Worker:
    """A worker polling the action task queue with ``run_actions``; Ray must be initialized before it runs."""
    activities = ActionActivities(
        runner or RayRunner(settings.max_concurrent_actions, settings.action_limits()),
        services=settings.step_services(),
    )
    return Worker(
        client,
        task_queue=settings.temporal.action_task_queue,
        activities=[activities.run_actions],
        max_concurrent_activities=settings.max_concurrent_actions,
        # Give running actions a moment to finish on shutdown; the rest are cancelled and retried elsewhere.
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_s),
        # The SDK sends at most one heartbeat per 0.8 x the heartbeat timeout (8 s of the workflow's 10 s), which
        # leaves a loaded machine 2 s to deliver it. Sending the activity's heartbeats on its own pace instead
        # (every 2-3 s) keeps a live attempt from being timed out and run twice.
        max_heartbeat_throttle_interval=timedelta(seconds=HEARTBEAT_INTERVAL_S + 1),
    )
