"""A FAKE executor for orchestrator integration tests: an in-process ``run_action`` activity.

The real executor (Ray-backed) is tested in tests/executor; here only the orchestrator is under test, so this
activity implements just enough actions, with the executor's contract (ActionRequest in, ActionReport out, an
action that raises comes back as a ``failed`` report).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from schemas import ActionError, ActionReport, ActionRequest
from schemas.actions import RUN_ACTION

URL = re.compile(r"https?://[^\s\"'<>]+")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _run(action: str, args: dict[str, Any]) -> Any:
    if action == "core.text.extract_urls":
        return list(dict.fromkeys(url for text in _strings(args["texts"]) for url in URL.findall(text)))
    if action == "core.transform.reshape":
        return args["value"]
    if action == "test.fail":
        raise RuntimeError(args.get("message", "failed on purpose"))
    if action == "test.big":
        return "x" * int(args["size"])
    raise KeyError(f"fake executor has no action {action!r}")


@activity.defn(name=RUN_ACTION)
async def fake_executor_run_action(request: ActionRequest) -> ActionReport:
    started, clock = datetime.now(UTC), time.perf_counter()
    if request.action == "test.silent_first_attempt":
        if activity.info().attempt == 1:
            # Like an executor SIGKILLed mid-action: no heartbeat, no answer. Only cancellation ends this wait.
            await asyncio.Event().wait()
        request = request.model_copy(update={"action": "core.transform.reshape"})
    try:
        result, error, status = _run(request.action, request.args), None, "succeeded"
    except Exception as exc:
        result, error, status = None, ActionError(type=type(exc).__name__, message=str(exc)), "failed"
    return ActionReport(
        ref=request.ref,
        action=request.action,
        status=status,  # type: ignore[arg-type]
        result=result,
        error=error,
        attempts=activity.info().attempt,
        started_at=started,
        finished_at=datetime.now(UTC),
        duration_ms=(time.perf_counter() - clock) * 1000,
    )


def fake_executor_worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, activities=[fake_executor_run_action])


@activity.defn(name=RUN_ACTION)
async def lost_executor_run_action(request: ActionRequest) -> ActionReport:
    """Takes the action and never answers, like an executor that died mid-action: every attempt times out."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable: the wait above only ends by cancellation")


def lost_executor_worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, activities=[lost_executor_run_action])
