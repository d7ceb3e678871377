"""``python -m services.orchestrator``: run the orchestrator until SIGTERM or SIGINT (exit 0), or until its
trigger consumer or workflow worker dies (``/healthz`` 503, then exit 1, so a supervisor restarts it)."""

from __future__ import annotations

import asyncio

from dsl.loader import WorkflowLoadError, load_workflows
from services.executor.catalog import action_catalog
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.open_runs import SearchAttributeMissing
from services.orchestrator.service import Orchestrator, connect_temporal
from services.orchestrator.variables import VarsFileError, load_vars
from services.shared import logs, tracing
from services.shared.watchdog import exit_dead, run_process, stop_on_signals, until_stopped_or_dead


async def serve(settings: OrchestratorSettings) -> None:
    """Load workflows and workspace variables (fail fast on a bad file), connect, run until a stop signal, then
    shut down cleanly."""
    try:
        # Checked against the executor's own action models (services.executor.catalog, this service's one import of
        # another service): the same modules and EXECUTOR_ACTION_MODULES the executor loads, so a bad args block
        # stops the orchestrator at start, not a run later.
        definitions = load_workflows(settings.workflows_dir, action_catalog)
        variables = load_vars(settings.vars_file)
    except (WorkflowLoadError, VarsFileError) as error:
        raise SystemExit(f"orchestrator: cannot start: {error}") from None
    stop = stop_on_signals()
    connecting = asyncio.create_task(connect_temporal(settings))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if stop.is_set():  # a signal while Temporal was still unreachable
        connecting.cancel()
        return
    stopping.cancel()
    try:
        await run_until_stopped(Orchestrator(settings, connecting.result(), definitions, variables), stop)
    except SearchAttributeMissing as error:  # an operator must register it: say how, once, and exit
        raise SystemExit(f"orchestrator: cannot start: {error}") from None


async def run_until_stopped(orchestrator: Orchestrator, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; if the consumer or the worker dies first, shut down and exit 1."""
    async with orchestrator:
        death = await until_stopped_or_dead(stop, orchestrator.watchdog)
    if death is not None:
        exit_dead("orchestrator", death)


def main() -> None:
    """Start the orchestrator from its ``ORCHESTRATOR_*`` settings, with its logs and tracing, and ``serve`` it."""
    settings = OrchestratorSettings()
    logs.configure("orchestrator", settings.log_level)
    tracing.setup("alertmesh-orchestrator")
    asyncio.run(serve(settings))


if __name__ == "__main__":
    run_process(main)
