"""What Temporal's visibility says about the run's workflows: every execution (run) per workflow id."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from services.shared.temporal import TemporalSettings


@dataclass(frozen=True)
class Execution:
    """One run of a workflow as Temporal lists it; ``status`` is the status's name (``RUNNING``, ``COMPLETED``, ...)."""

    workflow_id: str
    run_id: str
    status: str


async def executions(address: str, workflow_type: str = "DSLWorkflow", attempts: int = 30) -> list[Execution]:
    """Every execution of ``workflow_type`` the server knows (the chaos state directory holds only this run's).
    Retries while the server is still coming back."""
    for attempt in range(attempts):
        try:
            client: Client = await TemporalSettings(address=address).connect()
            found = []
            async for execution in client.list_workflows(f'WorkflowType = "{workflow_type}"'):
                status = execution.status or WorkflowExecutionStatus.RUNNING
                found.append(Execution(execution.id, execution.run_id, status.name))
            return found
        except (RuntimeError, RPCError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    return []


async def running(address: str) -> int:
    """How many workflows are still running."""
    return sum(1 for execution in await executions(address) if execution.status == "RUNNING")
