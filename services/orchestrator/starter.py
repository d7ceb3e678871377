"""Starts a DSLWorkflow for a trigger exactly once, retrying until Temporal accepts (back-pressure)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, Protocol

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.orchestrator.contracts import DSLRun
from services.orchestrator.workflow import DSLWorkflow
from services.shared.retry import Backoff, with_backoff

StartOutcome = Literal["started", "duplicate"]


class StartRejected(Exception):
    """Temporal refused this start for good (e.g. the input is over its 2 MB payload limit): retrying the same
    request can never succeed, so the trigger must be dead-lettered, not retried."""


class WorkflowStarter(Protocol):
    async def start(self, run: DSLRun) -> StartOutcome:
        """Return once the run is durably started (or was already); never give up on an outage. Raises
        ``StartRejected`` when Temporal refuses the request itself."""


class TemporalStarter:
    """``client.start_workflow`` with the trigger's idempotency key as workflow id.

    REJECT_DUPLICATE means even a trigger redelivered after its run completed cannot start a second run (a
    deliberate re-run is ``alertmesh rerun``). ``max_message_bytes`` (KAFKA_MAX_MESSAGE_BYTES) goes into every
    run it starts, so the workflow cuts its result to what this deployment's results topic takes.
    """

    def __init__(
        self,
        client: Client,
        task_queue: str,
        *,
        rpc_timeout: timedelta = timedelta(seconds=10),
        initial_backoff: float = 0.2,
        max_backoff: float = 30.0,
        max_message_bytes: int | None = None,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._rpc_timeout = rpc_timeout
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._max_message_bytes = max_message_bytes

    async def start(self, run: DSLRun) -> StartOutcome:
        async def attempt() -> StartOutcome | RPCError:
            try:
                await self._start_once(run)
            except WorkflowAlreadyStartedError:
                return "duplicate"
            except RPCError as error:
                # INVALID_ARGUMENT is about this request (e.g. "Blob data size exceeds limit."), not an outage.
                if error.status == RPCStatusCode.INVALID_ARGUMENT:
                    return error
                raise
            return "started"

        # Temporal down or slow: wait and retry, never skip the trigger (no budget: the partition waits).
        key = run.trigger.data.idempotency_key
        backoff = Backoff(self._initial_backoff, self._max_backoff, budget_s=None)
        outcome = await with_backoff(attempt, f"starting workflow {key}", backoff)
        if isinstance(outcome, RPCError):
            raise StartRejected(f"Temporal refused to start workflow {key}: {outcome.message}")
        return outcome

    async def _start_once(self, run: DSLRun) -> None:
        trigger = run.trigger
        if self._max_message_bytes is not None:
            run = run.model_copy(update={"max_message_bytes": self._max_message_bytes})
        await self._client.start_workflow(
            DSLWorkflow.run,
            run,
            id=trigger.data.idempotency_key,
            task_queue=self._task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={"correlationid": trigger.correlationid, "trigger_id": trigger.id, "route": trigger.data.route},
            rpc_timeout=self._rpc_timeout,
        )
