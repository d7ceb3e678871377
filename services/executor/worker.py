"""Build the executor's Temporal worker from settings and a client (so tests build the same worker)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from services.executor.activity import ActionActivities, ActionRunner
from services.executor.config import ExecutorSettings
from services.executor.ray_runner import RayRunner


def build_worker(client: Client, settings: ExecutorSettings, runner: ActionRunner | None = None) -> Worker:
    """A worker polling the action task queue with ``run_action``; Ray must be initialized before it runs."""
    activities = ActionActivities(runner or RayRunner(settings.max_concurrent_actions, settings.action_limits()))
    return Worker(
        client,
        task_queue=settings.temporal.action_task_queue,
        activities=[activities.run_action],
        max_concurrent_activities=settings.max_concurrent_actions,
        # Give running actions a moment to finish on shutdown; the rest are cancelled and retried elsewhere.
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
    )
