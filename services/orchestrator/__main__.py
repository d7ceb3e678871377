"""``python -m services.orchestrator``: run the orchestrator until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal

from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.dsl.loader import WorkflowLoadError, load_workflows
from services.orchestrator.service import Orchestrator, connect_temporal
from services.shared import logs


async def serve(settings: OrchestratorSettings) -> None:
    """Load workflows (fail fast on a bad file), connect, run until a stop signal, then shut down cleanly."""
    try:
        definitions = load_workflows(settings.workflows_dir)
    except WorkflowLoadError as error:
        raise SystemExit(f"orchestrator: cannot start: {error}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    connecting = asyncio.create_task(connect_temporal(settings))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if stop.is_set():  # a signal while Temporal was still unreachable
        connecting.cancel()
        return
    async with Orchestrator(settings, connecting.result(), definitions):
        await stopping


def main() -> None:
    settings = OrchestratorSettings()
    logs.configure("orchestrator", settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
