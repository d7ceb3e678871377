"""A fake Dispatcher for unit tests of the scheduler's DSL features: actions run in this process, their args
rendered as the executor renders them (results, loop variables), with a virtual clock for timers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from dsl.expressions import parse_expression
from dsl.model import ActionStatement, ChildWorkflowArgs
from dsl.templates import TemplateContext, TemplateError, evaluate, render
from schemas import ActionError, ActionReport, ActionStep
from services.orchestrator.scheduler import DispatchTask

START = datetime(2024, 1, 1, tzinfo=UTC)
#: An action: rendered args and attempt number -> result; raising fails the attempt with the exception's type.
Action = Callable[[dict[str, Any], int], Any]


class FakeDispatch:
    """``actions`` by name; every dispatch, child start and sleep is logged in ``log`` in order."""

    def __init__(self, actions: dict[str, Action], trigger: dict[str, Any] | None = None) -> None:
        self.actions = actions
        self.trigger = trigger or {}
        self.log: list[str] = []
        self.clock = START
        self.running = 0
        self.most_running = 0
        self.children: list[tuple[str, ChildWorkflowArgs, int | None]] = []

    async def dispatch(
        self, steps: list[ActionStep], results: dict[str, Any], errors: dict[str, Any]
    ) -> list[ActionReport]:
        self.log.append("dispatch " + ",".join(s.ref + (f"[{s.item}]" if s.item is not None else "") for s in steps))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1
        return [self._run(step, results, errors) for step in steps if not step.after]

    def _run(self, step: ActionStep, results: dict[str, Any], errors: dict[str, Any]) -> ActionReport:
        context = TemplateContext(trigger=self.trigger, results=results, errors=errors, loop=step.loop)
        try:
            value = self.actions[step.action](render(step.args, context), step.attempt)
            if step.retry_until is not None:
                check = TemplateContext(trigger=self.trigger, results={**results, step.ref: value})
                text = step.retry_until.strip().removeprefix("${{").removesuffix("}}")
                if not evaluate(parse_expression(text), check):
                    raise RetryUntilError(f"retry_until {step.retry_until!r} did not hold")
        except (Exception, TemplateError) as error:
            kind = "RetryUntil" if isinstance(error, RetryUntilError) else type(error).__name__
            failure = ActionError(type=kind, message=str(error), retryable=isinstance(error, ConnectionError))
            return ActionReport(ref=step.ref, action=step.action, status="failed", error=failure, attempts=step.attempt)
        return ActionReport(ref=step.ref, action=step.action, status="succeeded", result=value, attempts=step.attempt)

    async def child(
        self, action: ActionStatement, args: ChildWorkflowArgs, item: int | None, attempt: int
    ) -> ActionReport:
        self.children.append((action.ref, args, item))
        self.log.append(f"child {args.workflow}" + (f"[{item}]" if item is not None else ""))
        result = {"echo": args.inputs} if args.wait else {"workflow_id": f"wf/{action.ref}", "run_id": "r"}
        return ActionReport(ref=action.ref, action=action.action, status="succeeded", result=result, attempts=attempt)

    async def wait_first(self, tasks: list[DispatchTask]) -> Sequence[DispatchTask]:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return list(done)

    async def sleep(self, seconds: float) -> list[ActionReport]:
        self.log.append(f"sleep {seconds:g}")
        await asyncio.sleep(seconds / 1000)  # a virtual second is a real millisecond
        self.clock += timedelta(seconds=seconds)
        return []

    def now(self) -> datetime:
        return self.clock


class RetryUntilError(Exception):
    """retry_until did not hold (the executor's ``RetryUntil``)."""
