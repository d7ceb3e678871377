"""The honest Temporal ceiling: ``python -m bench.ceiling ADDRESS COUNT [WARMUP]``.

The smallest Temporal app that does the mesh's triage work: client and worker in one process, the default data
converter and workflow sandbox, default worker limits, two sequential activities calling the same action functions
as the mesh's executor (``bench.raw_activities``). It starts ``WARMUP`` workflows and waits for them (code loading,
first sandbox), then ``COUNT`` at once, and prints one JSON line: each workflow's start and result times (seconds,
``time.monotonic``).

The bench runs it on a Temporal dev server of its own, started as the mesh starts its (same dynamic config, same
SQLite pragmas), before the mesh starts: nothing else of the bench runs meanwhile, so the figure is what Temporal
alone gives on this machine, the ceiling the mesh's end-to-end rate is under.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from typing import Any

import orjson
from temporalio.client import Client
from temporalio.worker import Worker

from bench import raw_activities
from bench.ceiling_workflow import TASK_QUEUE, CeilingTriage
from bench.payloads import bench_alerts


async def _one(client: Client, alert: dict[str, Any], workflow_id: str) -> tuple[float, float]:
    sent = time.monotonic()
    await client.execute_workflow(CeilingTriage.run, alert, id=workflow_id, task_queue=TASK_QUEUE)
    return sent, time.monotonic()


async def measure(address: str, count: int, warmup: int) -> dict[str, list[float]]:
    """Start ``warmup`` workflows, then ``count`` at once on the dev server at ``address``; when each was started and
    when its result came (``sent_at``, ``done_at``)."""
    client = await Client.connect(address)
    tag = uuid.uuid4().hex[:6]
    alerts = [alert.alert for alert in bench_alerts(tag, "triage", warmup + count)]
    worker = Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[CeilingTriage],
        activities=[raw_activities.extract_urls, raw_activities.reshape],
    )
    async with worker:
        await asyncio.gather(*(_one(client, alert, f"ceiling-{tag}-w{i}") for i, alert in enumerate(alerts[:warmup])))
        runs = [_one(client, alert, f"ceiling-{tag}-{i}") for i, alert in enumerate(alerts[warmup:])]
        times = await asyncio.gather(*runs)
    return {"sent_at": [sent for sent, _ in times], "done_at": [done for _, done in times]}


def main() -> None:
    """The command line (see the module's docstring); leaves with ``os._exit(0)`` once the worker stopped."""
    if len(sys.argv) not in (3, 4):
        raise SystemExit("usage: python -m bench.ceiling ADDRESS COUNT [WARMUP]")
    address, count = sys.argv[1], int(sys.argv[2])
    warmup = int(sys.argv[3]) if len(sys.argv) == 4 else 3
    print(orjson.dumps(asyncio.run(measure(address, count, warmup))).decode(), flush=True)
    # The SDK's native threads can abort the interpreter while it finalizes (temporalio sdk-python issue #300).
    os._exit(0)


if __name__ == "__main__":
    main()
