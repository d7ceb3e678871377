"""The Temporal worker hosting DSLWorkflow and the ``publish_result`` local activity."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from services.orchestrator.publish import ResultPublisher
from services.orchestrator.workflow import DSLWorkflow


def build_worker(client: Client, task_queue: str, publisher: ResultPublisher) -> Worker:
    """Workflows only (plus the local activity): actions run in the executor's worker on another queue.

    Without Temporal's sandbox: it guards against arbitrary workflow code, but users never write Python workflow
    code here, they write YAML that one fixed interpreter (DSLWorkflow) runs, and the sandbox's per-run module
    isolation cost a third of this process's CPU (measured per 2-action triage run: 37 ms sandboxed, 32 ms with
    every module passed through, 23 ms unsandboxed). Determinism is checked in CI instead: a lint over every module
    the workflow loads, and replays of real histories both without and inside the sandbox
    (tests/orchestrator/test_determinism_lint.py, test_replay*.py).
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DSLWorkflow],
        activities=[publisher.publish_result],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
