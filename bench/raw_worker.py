"""``python -m bench.raw_worker {workflows|activities} ADDRESS``: one process of the raw design, as the mesh has
one process for its workflows (orchestrator) and one for its actions (executor). Prints ``ready`` once polling;
runs until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench import raw_activities, raw_workflows
from services.executor.config import ExecutorSettings
from services.shared.temporal import TemporalSettings

READY = "ready"


async def serve(role: str, address: str) -> None:
    """Poll ``role``'s task queue on the Temporal server at ``address``, printing ``ready`` once it does, until SIGTERM
    or SIGINT."""
    client = await TemporalSettings(address=address).connect()
    if role == "workflows":
        worker = Worker(
            client,
            task_queue=raw_workflows.WORKFLOW_QUEUE,
            workflows=[raw_workflows.RawTriage, raw_workflows.RawSingle],
            # As the orchestrator runs DSLWorkflow: the comparison is of designs, not of the sandbox's cost.
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
    else:
        # As many activities at once as the executor runs actions.
        worker = Worker(
            client,
            task_queue=raw_workflows.ACTIVITY_QUEUE,
            activities=[raw_activities.extract_urls, raw_activities.reshape],
            max_concurrent_activities=ExecutorSettings().max_concurrent_actions,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with worker:
        print(READY, flush=True)
        await stop.wait()


def main() -> None:
    """The command line (see the module's docstring); leaves with ``os._exit(0)`` once the worker stopped."""
    role, address = sys.argv[1], sys.argv[2]
    if role not in ("workflows", "activities"):
        raise SystemExit(f"usage: python -m bench.raw_worker {{workflows|activities}} ADDRESS (not {role!r})")
    asyncio.run(serve(role, address))
    # The SDK's native threads can abort the interpreter while it finalizes (temporalio sdk-python issue #300).
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
