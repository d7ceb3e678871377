"""Run one ActionBatch: its ready steps at once, each follower as soon as the pure steps it reads succeeded.

Temporal-free (the ``run_actions`` activity wraps it), so its order and failure rules are tested with plain
asyncio. Every step ends as a report; nothing a step does escapes as an exception:
- the action raised, its templates could not be rendered, a secret it reads is missing, or its result did not
  meet ``retry_until``: a failed report (the action's own outcome; the workflow's retry policy decides);
- the attempt ran out of its time limit: a failed report (``ActionTimeout``), also the retry policy's to decide;
- Ray failed under it (worker crashed, node lost): a failed report marked ``retryable``, so the workflow runs the
  action again, visibly, as a new attempt, whatever the retry policy says.
Only cancellation (the activity was cancelled or timed out) stops the batch; every running step is cancelled,
which force-stops its Ray task.

Templates are rendered here with TRIGGER, ACTIONS, ENV, VARS, var (the step's for_each item) and SECRETS (from the
secrets backend, only when read). Before a report leaves, secret values the step read are masked in it (in every
form ``masking`` knows), and a result over the blob threshold is stored and replaced by its ``{"$stored": ...}``
reference. A step that read a secret runs under ``masking_step``: every log line made for it, here and in its Ray
task, is masked too; and if its templates fail, they are rendered again with the functions' previews of values
hidden (``dsl.functions.previews``), since a value derived from a secret is beyond masking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from dsl.functions.previews import values_hidden
from dsl.templates import TemplateContext, TemplateError, render
from schemas.actions import ActionBatch, ActionError, ActionReport, ActionStep
from services.executor.masking import mask_text, mask_value, masking_step
from services.executor.outcome import Outcome, cut_message
from services.executor.retry_until import RETRY_UNTIL, holds, retry_until_expression
from services.executor.secrets import EnvironmentSecrets, SecretsBackend, StepSecrets
from services.executor.stored import load_read_results, refs_read, stored_refs
from services.shared import metrics, tracing
from services.shared.blobs import BlobError, BlobStore, store_json

log = logging.getLogger(__name__)

#: Error type of an attempt stopped at its time limit.
ACTION_TIMEOUT = "ActionTimeout"

#: A report's identity in a batch: its ref, and its for_each item (for_each steps share their ref).
ReportKey = tuple[str, int | None]


def report_key(report: ActionReport | ActionStep) -> ReportKey:
    """Which step of its batch a report (or the step itself) is: its ref and its for_each item (None outside one)."""
    return (report.ref, report.item)


class ActionRunner(Protocol):
    """Anything that runs a registered action and returns its Outcome (RayRunner in production)."""

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        """Run action ``name`` with ``raw_args`` (rendered, not yet validated) and return its Outcome. What the
        action does wrong (bad arguments, a raise, a result JSON cannot carry) is a failed Outcome, never an
        exception; an exception means the infrastructure failed under it, and the step is reported ``retryable``.
        Cancelled, it must stop the action. It runs within the step's ``masking_step``: a runner that runs the
        action in another process hands ``masking.step_secrets()`` along (RayRunner does), so that process masks
        its log lines and output and masks the error message before cutting it."""


@dataclass(frozen=True)
class StepServices:
    """Where a batch's steps get their secrets and keep their large results (the executor's settings decide)."""

    secrets: SecretsBackend = field(default_factory=EnvironmentSecrets)
    #: Where results over ``blob_threshold_bytes`` go; None keeps every result inline (and reads none stored).
    blobs: BlobStore | None = None
    blob_threshold_bytes: int = 128 * 1024


class BatchRun:
    """One run of one batch. ``done`` holds reports of steps an earlier attempt finished (they are not run
    again); ``on_report`` sees each new report as it is made (the activity heartbeats them)."""

    def __init__(
        self,
        batch: ActionBatch,
        runner: ActionRunner,
        is_pure: Callable[[str], bool],
        *,
        done: Mapping[ReportKey, ActionReport] | None = None,
        on_report: Callable[[ActionReport], None] = lambda report: None,
        extra_attempts: int = 0,
        services: StepServices | None = None,
    ) -> None:
        self._batch = batch
        self._runner = runner
        self._is_pure = is_pure
        self._reports: dict[ReportKey, ActionReport] = dict(done or {})
        self._on_report = on_report
        # A retried activity attempt is a new attempt of every step it runs again.
        self._extra_attempts = extra_attempts
        self._services = services or StepServices()
        self._loaded: dict[str, Any] = {}  # stored results read by this batch's steps, loaded once

    async def run(self) -> list[ActionReport]:
        """Reports of the steps that ran, in the batch's order."""
        waiting = [step for step in self._batch.steps if report_key(step) not in self._reports]
        running: dict[asyncio.Task[ActionReport], ReportKey] = {}
        try:
            while True:
                waiting = self._start_runnable(waiting, running)
                if not running:
                    break
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    report = task.result()
                    self._reports[running.pop(task)] = report
                    self._on_report(report)
        finally:
            for task in running:
                task.cancel()
        steps = (report_key(step) for step in self._batch.steps)
        return [self._reports[key] for key in steps if key in self._reports]

    def _start_runnable(
        self, waiting: list[ActionStep], running: dict[asyncio.Task[ActionReport], ReportKey]
    ) -> list[ActionStep]:
        """Start every step whose batch inputs are all reported and usable; drop those that never will be."""
        still_waiting = []
        for step in waiting:
            # A step waits only for whole (not for_each) steps: the workflow batches no follower of a loop.
            inputs = [(ref, None) for ref in step.after]
            if not all(key in self._reports for key in inputs):
                still_waiting.append(step)
            elif all(self._usable(self._reports[key]) for key in inputs):
                task = asyncio.create_task(self._run_step(step), name=f"action-{step.ref}")
                running[task] = report_key(step)
            # else: an input failed or has side effects; the workflow decides (skip, or dispatch it later).
        return still_waiting

    def _usable(self, report: ActionReport) -> bool:
        return report.status == "succeeded" and self._is_pure(report.action)

    def _results(self) -> dict[str, Any]:
        results = dict(self._batch.results)
        results.update(
            {ref: r.result for (ref, item), r in self._reports.items() if item is None and r.status == "succeeded"}
        )
        return results

    async def _context(self, step: ActionStep, secrets: StepSecrets) -> TemplateContext:
        results = self._results()
        store = self._services.blobs
        if store is not None and any(stored_refs(results)):
            read = refs_read(step.args)
            if step.retry_until:
                read |= retry_until_expression(step.retry_until.strip()).refs
            results |= await asyncio.to_thread(load_read_results, results, read, store, self._loaded)
        return TemplateContext(
            trigger=self._batch.trigger,
            results=results,
            errors=self._batch.errors,
            secrets=secrets,
            env=self._batch.env,
            vars=self._batch.vars,
            loop=step.loop,
        )

    async def _run_step(self, step: ActionStep) -> ActionReport:
        attempts = step.attempt + self._extra_attempts
        secrets = StepSecrets(self._services.secrets)
        context: TemplateContext | None = None
        try:
            context = await self._context(step, secrets)
            args = render(step.args, context)
        except (TemplateError, BlobError) as error:
            now = datetime.now(UTC)
            problem = secrets.missing_error() or _without_values(step, context, secrets, error)
            with masking_step(secrets.used):
                return _report(step, _masked(Outcome.failure(problem), secrets.used), attempts, now, 0.0)
        with masking_step(secrets.used):
            return await self._run_rendered(step, args, attempts, context, secrets)

    async def _run_rendered(
        self, step: ActionStep, args: Any, attempts: int, context: TemplateContext, secrets: StepSecrets
    ) -> ActionReport:

        async def finish(outcome: Outcome) -> Outcome:
            return await self._finish(step, outcome, context, secrets)

        batch = self._batch
        ids = {
            tracing.WORKFLOW_ID: batch.workflow_id,
            tracing.IDEMPOTENCY_KEY: batch.workflow_id,
            tracing.CORRELATION_ID: batch.correlationid,
            tracing.EVENT_ID: batch.correlationid,
        }
        return await run_step(self._runner, step, args, attempts, finish, ids)

    async def _finish(
        self, step: ActionStep, outcome: Outcome, context: TemplateContext, secrets: StepSecrets
    ) -> Outcome:
        """The attempt's outcome as reported: checked against ``retry_until``, secrets masked, a large result
        stored."""
        if outcome.ok and step.retry_until:
            outcome = _check_retry_until(step, outcome, context, hide_values=bool(secrets.used))
        outcome = _masked(outcome, secrets.used)
        store = self._services.blobs
        if store is not None and outcome.value is not None and outcome.size > self._services.blob_threshold_bytes:
            try:
                stored = await asyncio.to_thread(store_json, outcome.value, store)
            except Exception as error:  # the store's own trouble (disk full, S3 down): the action's result is lost
                log.warning("storing the result of %s (%s) failed: %s", step.action, step.ref, error)
                return Outcome.failure(BlobError(f"storing the result of {step.action} failed: {error}"))
            outcome = Outcome(outcome.ok, stored, outcome.error_type, outcome.error_message, outcome.size)
        return outcome


def _without_values(
    step: ActionStep, context: TemplateContext | None, secrets: StepSecrets, error: Exception
) -> Exception:
    """``error``, or when the step read a secret, the error of rendering its args again with every value
    preview hidden: a function's message may quote a value derived from the secret (cut, decoded, upper-cased),
    which no masking can recognize. Rendering is pure, so it fails the same way."""
    if not secrets.used or context is None or not isinstance(error, TemplateError):
        return error
    try:
        with values_hidden():
            render(step.args, context)
    except TemplateError as hidden:
        return hidden
    return error  # not reached: the same templates, the same context


def _check_retry_until(
    step: ActionStep, outcome: Outcome, context: TemplateContext, *, hide_values: bool = False
) -> Outcome:
    assert step.retry_until is not None
    try:
        if hide_values:  # the step read a secret: no function quotes a value in its message (see _without_values)
            with values_hidden():
                held = holds(step.retry_until, step.ref, outcome.value, context)
        else:
            held = holds(step.retry_until, step.ref, outcome.value, context)
    except TemplateError as error:
        return Outcome(False, outcome.value, type(error).__name__, f"retry_until: {error}", outcome.size)
    if held:
        return outcome
    message = f"the result of {step.action} ({step.ref}) does not meet retry_until: {step.retry_until}"
    return Outcome(False, outcome.value, RETRY_UNTIL, message, outcome.size)


def _masked(outcome: Outcome, secrets: set[str]) -> Outcome:
    """``outcome`` with every value in ``secrets`` masked in its value and error message, and the message then
    cut to ``MAX_ERROR_MESSAGE_CHARS`` (whatever ran the action, the cut comes after the masking)."""
    message = outcome.error_message
    if not secrets:
        return outcome if message is None else _with_message(outcome, cut_message(message))
    value = mask_value(outcome.value, secrets)
    size = len(orjson.dumps(value)) if outcome.size else 0
    if message is not None:
        message = cut_message(mask_text(message, secrets))
    return Outcome(outcome.ok, value, outcome.error_type, message, size)


def _with_message(outcome: Outcome, message: str) -> Outcome:
    if message == outcome.error_message:
        return outcome
    return Outcome(outcome.ok, outcome.value, outcome.error_type, message, outcome.size)


async def run_step(
    runner: ActionRunner,
    step: ActionStep,
    args: Mapping[str, Any],
    attempts: int,
    finish: Callable[[Outcome], Awaitable[Outcome]] | None = None,
    trace_attributes: Mapping[str, str] | None = None,
) -> ActionReport:
    """Run ``step`` with its rendered ``args`` under its time limit; every outcome is a report (see above).
    ``finish`` turns the attempt's outcome into the reported one (retry_until, masking, storing). The attempt is
    a span (``action <ref>``, with ``trace_attributes``: the run's ids), current while the runner runs it, so the
    Ray task's span is its child."""
    attributes: dict[str, str | int] = {
        tracing.ACTION: step.action,
        tracing.REF: step.ref,
        tracing.ATTEMPT: attempts,
        **(trace_attributes or {}),
    }
    if step.item is not None:
        attributes["alertmesh.item"] = step.item
    with tracing.tracer().start_as_current_span(f"action {step.ref}", attributes=attributes) as span:
        report = await _run_step(runner, step, args, attempts, finish)
        span.set_attribute(tracing.ACTION_STATUS, report.status)
        if report.error is not None:
            tracing.failed(span, f"{report.error.type}: {report.error.message}")
        return report


async def _run_step(
    runner: ActionRunner,
    step: ActionStep,
    args: Mapping[str, Any],
    attempts: int,
    finish: Callable[[Outcome], Awaitable[Outcome]] | None,
) -> ActionReport:
    started_at, clock = datetime.now(UTC), time.perf_counter()
    retryable = False
    deadline = asyncio.timeout(step.timeout_seconds)
    try:
        async with deadline:
            outcome = await runner.run(step.action, args)
    except Exception as error:
        if isinstance(error, TimeoutError) and deadline.expired():
            # The action's own limit (its retry policy's ``timeout``): the retry policy decides, as for a raise.
            limit = f"{step.timeout_seconds:g} s"
            message = f"{step.action} ({step.ref}) did not finish within its limit of {limit} and was stopped"
            outcome = Outcome(ok=False, error_type=ACTION_TIMEOUT, error_message=message)
        else:
            # Ray's own trouble (worker crashed, node lost), not the action's: it may run again.
            log.warning("action %s (%s) lost to %s: %s", step.action, step.ref, type(error).__name__, error)
            outcome, retryable = Outcome.failure(error), True
    if finish is not None:
        outcome = await finish(outcome)
    elapsed_s = time.perf_counter() - clock
    metrics.observe_action(step.action, "succeeded" if outcome.ok else "failed", elapsed_s)
    return _report(step, outcome, attempts, started_at, elapsed_s * 1000, retryable=retryable)


def _report(
    step: ActionStep, outcome: Outcome, attempts: int, started_at: datetime, ms: float, retryable: bool = False
) -> ActionReport:
    error = None
    if not outcome.ok:
        kind = outcome.error_type or "Error"
        error = ActionError(type=kind, message=outcome.error_message or "", retryable=retryable)
        log.info("action %s (%s) failed: %s: %s", step.action, step.ref, kind, error.message)
    return ActionReport(
        ref=step.ref,
        action=step.action,
        status="succeeded" if outcome.ok else "failed",
        item=step.item,
        result=outcome.value,
        error=error,
        attempts=attempts,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        duration_ms=round(ms, 3),
    )
