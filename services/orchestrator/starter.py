"""Starts a DSLWorkflow for a trigger exactly once, retrying until Temporal accepts (back-pressure)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, Protocol

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from schemas import Trigger
from services.orchestrator.contracts import RESOLVED_SIGNAL, DSLRun, ResolvedSignal
from services.orchestrator.open_runs import firing_marks, list_open_firing_runs
from services.orchestrator.workflow import DSLWorkflow
from services.shared.backoff import Backoff, with_backoff

StartOutcome = Literal["started", "duplicate"]
#: ``signalled``: the run was running and got the signal; ``not-running``: it finished, or never started.
SignalOutcome = Literal["signalled", "not-running"]


class WorkflowStarter(Protocol):
    """How the trigger consumer starts runs (``TemporalStarter`` in the service, fakes in tests)."""

    async def start(self, run: DSLRun) -> StartOutcome:
        """Return once the run is durably started (or was already); never give up on a transient error. A start
        Temporal refuses for good (``services.shared.backoff.is_permanent``) is raised for the caller to dead-letter."""


class ResolvedSignaller(Protocol):
    """How the trigger consumer tells a firing alert's run that its alert resolved (``TemporalStarter`` in the
    service)."""

    async def signal_resolved(self, workflow_id: str, signal: ResolvedSignal) -> SignalOutcome:
        """Signal the running workflow ``workflow_id`` that its alert resolved; never give up on a transient
        error. Signalling twice is harmless: the workflow reacts to the first signal only."""

    async def open_firing_runs(self, trigger: Trigger) -> list[str]:
        """The ids of the open runs of the firing alert that ``trigger``'s resolved alert ends, found by source and
        fingerprint (``open_runs``), however their keys were formed, as visibility lists them now (eventually
        consistent: the caller asks again for a run started a moment ago). Never gives up on a transient error."""


class TemporalStarter:
    """``client.start_workflow`` with the trigger's idempotency key as workflow id.

    REJECT_DUPLICATE means even a trigger redelivered after its run completed cannot start a second run (a
    deliberate re-run is ``alertmesh rerun``).
    """

    def __init__(
        self,
        client: Client,
        task_queue: str,
        *,
        rpc_timeout: timedelta = timedelta(seconds=10),
        initial_backoff: float = 0.2,
        max_backoff: float = 30.0,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._rpc_timeout = rpc_timeout
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff

    async def start(self, run: DSLRun) -> StartOutcome:
        """Start ``run``: ``started``, or ``duplicate`` when its workflow id has run or is running (nothing new
        starts). Transient errors are retried without end; one Temporal refuses for good is raised."""

        async def attempt() -> StartOutcome:
            try:
                await self._start_once(run)
            except WorkflowAlreadyStartedError:
                return "duplicate"
            return "started"

        # Temporal down or slow: wait and retry, never skip the trigger (no budget: the partition waits).
        backoff = Backoff(self._initial_backoff, self._max_backoff, budget_s=None)
        return await with_backoff(attempt, f"starting workflow {run.trigger.data.idempotency_key}", backoff)

    async def signal_resolved(self, workflow_id: str, signal: ResolvedSignal) -> SignalOutcome:
        """Send ``signal`` to the run ``workflow_id``: ``signalled``, or ``not-running`` when Temporal has no running
        run with that id. Transient errors are retried without end; one Temporal refuses for good is raised."""
        # A plain signal, not signal-with-start: a resolved alert must never start the firing alert's run. A
        # retried signal (Temporal slow: the first one may have landed) is ignored by the workflow.
        handle = self._client.get_workflow_handle(workflow_id)

        async def attempt() -> SignalOutcome:
            try:
                await handle.signal(RESOLVED_SIGNAL, signal, rpc_timeout=self._rpc_timeout)
            except RPCError as error:
                # Temporal answers NOT_FOUND both for an id that never ran and for a run that has closed.
                if error.status == RPCStatusCode.NOT_FOUND:
                    return "not-running"
                raise
            return "signalled"

        backoff = Backoff(self._initial_backoff, self._max_backoff, budget_s=None)
        return await with_backoff(attempt, f"signalling workflow {workflow_id}", backoff)

    async def open_firing_runs(self, trigger: Trigger) -> list[str]:
        """The open runs of ``trigger``'s firing alert on this task queue (``open_runs.list_open_firing_runs``).
        Transient errors are retried without end; one Temporal refuses for good is raised."""

        async def attempt() -> list[str]:
            return await list_open_firing_runs(self._client, self._task_queue, trigger)

        backoff = Backoff(self._initial_backoff, self._max_backoff, budget_s=None)
        return await with_backoff(attempt, f"listing the open runs of {trigger.idempotency_key}", backoff)

    async def _start_once(self, run: DSLRun) -> None:
        trigger = run.trigger
        # A firing alert's run is indexed by source and fingerprint, so its resolved alert finds it (open_runs).
        search_attributes, firing_memo = firing_marks(trigger.data, self._task_queue)
        await self._client.start_workflow(
            DSLWorkflow.run,
            run,
            id=trigger.data.idempotency_key,
            task_queue=self._task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={
                "correlationid": trigger.correlationid,
                "trigger_id": trigger.id,
                "route": trigger.data.route,
                **firing_memo,
            },
            search_attributes=search_attributes,
            rpc_timeout=self._rpc_timeout,
            # This process also runs the workflow worker: Temporal may hand the first workflow task back in the
            # start's answer, saving a poll round trip (about 50 ms a run). Ids and REJECT_DUPLICATE are as before.
            request_eager_start=True,
        )
