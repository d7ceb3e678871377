"""A FAKE executor for orchestrator integration tests: the real ``run_actions`` activity with an in-process
runner instead of Ray.

The real executor (Ray-backed) is tested in tests/executor; here only the orchestrator is under test, so the
runner implements just enough actions (an action that raises comes back as a ``failed`` report, as on Ray).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Mapping
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from schemas.actions import RUN_ACTIONS, ActionBatch, BatchReport
from services.executor.activity import ActionActivities
from services.executor.outcome import Outcome

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


#: The fake's actions with no side effects (as the real registry declares its ``core.*`` ones).
PURE = frozenset({"core.text.extract_urls", "core.transform.reshape"})


class FakeRunner:
    """Runs the fake actions in this process (``test.silent_first_attempt`` as a reshape)."""

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        if name == "test.silent_first_attempt":
            name = "core.transform.reshape"
        try:
            return Outcome(ok=True, value=_run(name, dict(raw_args)))
        except Exception as exc:
            return Outcome.failure(exc)


class FakeExecutor(ActionActivities):
    """The real activity on the fake runner, except that a batch with ``test.silent_first_attempt`` goes silent
    on its first attempt, like an executor SIGKILLed mid-action: no heartbeat, no answer."""

    def __init__(self) -> None:
        super().__init__(FakeRunner(), pure=PURE.__contains__)

    @activity.defn(name=RUN_ACTIONS)
    async def run_actions(self, batch: ActionBatch) -> BatchReport:
        silent = any(step.action == "test.silent_first_attempt" for step in batch.steps)
        if silent and activity.info().attempt == 1:
            await asyncio.Event().wait()  # only cancellation ends this wait
        return await super().run_actions(batch)


def fake_executor_worker(client: Client, task_queue: str) -> Worker:
    executor = FakeExecutor()
    return Worker(client, task_queue=task_queue, activities=[executor.run_actions])


@activity.defn(name=RUN_ACTIONS)
async def lost_executor_run_actions(batch: ActionBatch) -> BatchReport:
    """Takes the action and never answers, like an executor that died mid-action: every attempt times out."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable: the wait above only ends by cancellation")


def lost_executor_worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, activities=[lost_executor_run_actions])
