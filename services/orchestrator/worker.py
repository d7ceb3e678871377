"""The Temporal worker hosting DSLWorkflow and the ``publish_result`` local activity."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from services.orchestrator.publish import ResultPublisher
from services.orchestrator.workflow import DSLWorkflow


def build_worker(client: Client, task_queue: str, publisher: ResultPublisher) -> Worker:
    """Workflows only (plus the local activity): actions run in the executor's worker on another queue."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DSLWorkflow],
        activities=[publisher.publish_result],
    )
