"""The conformance suite's stack and ``run_case``: one definition, one real run, its WorkflowResult.

One stack serves the whole suite (see conftest): the Temporal dev server and the embedded broker of the test
session, the orchestrator in this process (its workflow worker and result publisher, as ``python -m
services.orchestrator`` runs them), and the executor as its own process (``python -m services.executor``) on a
local Ray with a few CPUs, so parallel branches and for_each items really run at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer
from temporalio.client import Client, WorkflowHandle

from dsl.model import WorkflowDefinition
from schemas import Alert, Trigger, WorkflowResult, WorkflowTrigger
from services.orchestrator.children import reachable
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.contracts import DSLRun
from services.orchestrator.workflow import DSLWorkflow
from tests.orchestrator.factories import DEMO_ALERT

#: Ray CPUs of the suite's executor: enough for the widest parallel case (the machine's cores do not bound
#: sleeping actions).
RAY_CPUS = 5
#: Results larger than this (bytes of JSON) are stored outside history by the suite's executor.
BLOB_THRESHOLD_BYTES = 65536

Definition = str | Mapping[str, Any] | WorkflowDefinition


def parse_definition(definition: Definition) -> WorkflowDefinition:
    """A definition from YAML text, a dict, or as is (shape only: validation is the loader's and the cases')."""
    if isinstance(definition, WorkflowDefinition):
        return definition
    document = yaml.safe_load(definition) if isinstance(definition, str) else definition
    return WorkflowDefinition.model_validate(document)


def make_trigger(workflow: str, inputs: Mapping[str, Any] | None = None, alert: Alert | None = None) -> WorkflowTrigger:
    """A trigger as ingest publishes it, with a fresh idempotency key (the workflow id)."""
    return WorkflowTrigger(
        id=str(uuid.uuid4()),
        source="alertmesh/ingest",
        time=datetime.now(UTC),
        subject=workflow,
        correlationid=f"corr-{uuid.uuid4()}",
        causationid=str(uuid.uuid4()),
        data=Trigger(
            workflow=workflow,
            idempotency_key=f"conformance-{workflow}-{uuid.uuid4().hex[:12]}",
            route="conformance",
            inputs=dict(inputs or {}),
            alert=alert or DEMO_ALERT,
        ),
    )


@dataclass
class Stack:
    """The running suite stack: a Temporal client, the orchestrator's settings, and the executor's files."""

    client: Client
    settings: OrchestratorSettings
    #: Where test actions write their call logs (``actions.read_calls``).
    log_dir: Path
    #: The executor's secrets file (EXECUTOR_SECRETS_FILE), rewritten by ``set_secrets``.
    secrets_file: Path
    #: The executor's blob store directory (large results).
    blob_dir: Path
    #: Workspace variables (VARS) every run gets unless a case passes its own.
    vars: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)

    def set_secrets(self, secrets: Mapping[str, Mapping[str, str]]) -> None:
        """Add secrets to the executor's secrets file (it reads the file again when it changes)."""
        for name, keys in secrets.items():
            self.secrets.setdefault(name, {}).update(keys)
        self.secrets_file.write_text(json.dumps(self.secrets), encoding="utf-8")

    def call_log_key(self) -> str:
        """A fresh key for a test action's call log."""
        return uuid.uuid4().hex

    async def start(
        self,
        definition: Definition,
        *,
        inputs: Mapping[str, Any] | None = None,
        vars: Mapping[str, Any] | None = None,
        secrets: Mapping[str, Mapping[str, str]] | None = None,
        workflows: Iterable[Definition] = (),
        alert: Alert | None = None,
    ) -> WorkflowHandle[Any, WorkflowResult]:
        """Start one run of ``definition`` the way the orchestrator does; ``workflows`` are the other definitions
        it may start (children, its error handler)."""
        parsed = parse_definition(definition)
        if secrets:
            self.set_secrets(secrets)
        trigger = make_trigger(parsed.name, inputs, alert)
        others = {d.name: d for d in (parse_definition(w) for w in workflows)}
        run = new_run(parsed, trigger, self.settings, others, self.vars if vars is None else dict(vars))
        return await self.client.start_workflow(
            DSLWorkflow.run,
            run,
            id=trigger.data.idempotency_key,
            task_queue=self.settings.temporal.workflow_task_queue,
        )

    async def run(self, definition: Definition, **kwargs: Any) -> WorkflowResult:
        """``start`` and wait for the run's WorkflowResult (failed runs too: the workflow returns them)."""
        handle = await self.start(definition, **kwargs)
        return await asyncio.wait_for(handle.result(), timeout=60)

    async def results_on_topic(self, workflow_id: str, timeout: float = 20) -> list[bytes]:
        """Every record on the results topic keyed by ``workflow_id`` (raw bytes), once at least one is there."""
        consumer = AIOKafkaConsumer(
            self.settings.topics.results,
            **self.settings.kafka.client_kwargs(),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        found: list[bytes] = []
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                records = [r for rs in batch.values() for r in rs]
                found += [r.value for r in records if r.key == workflow_id.encode() and r.value is not None]
                if found and not records:
                    return found
            raise AssertionError(f"no result for {workflow_id} on {self.settings.topics.results} after {timeout}s")
        finally:
            await consumer.stop()


@dataclass(frozen=True)
class Started:
    """A case's run, started ahead of its test (see ``start_cases``), and the call-log key its actions write to."""

    handle: WorkflowHandle[Any, WorkflowResult]
    key: str
    #: What the case was started with (``Stack.start``'s keyword arguments: inputs, vars, ...).
    given: dict[str, Any]

    async def result(self) -> WorkflowResult:
        return await asyncio.wait_for(self.handle.result(), timeout=60)


#: A case: given the stack and a fresh call-log key, the definition to run and ``Stack.start``'s keyword arguments.
CaseBuilder = Callable[[Stack, str], tuple[Definition, dict[str, Any]]]


async def start_cases(stack: Stack, cases: Mapping[str, CaseBuilder]) -> dict[str, Started]:
    """Start every case's run at once, by name. A module whose cases mostly wait (timers, backoffs) starts them
    all before its first test, so the waits overlap instead of adding up; each test then awaits its own run."""

    async def start(builder: CaseBuilder) -> Started:
        key = stack.call_log_key()
        definition, kwargs = builder(stack, key)
        return Started(await stack.start(definition, **kwargs), key, kwargs)

    started = await asyncio.gather(*(start(builder) for builder in cases.values()))
    return dict(zip(cases, started, strict=True))


def new_run(
    definition: WorkflowDefinition,
    trigger: WorkflowTrigger,
    settings: OrchestratorSettings,
    workflows: Mapping[str, WorkflowDefinition],
    vars: Mapping[str, Any],
) -> DSLRun:
    """The run input the orchestrator gives DSLWorkflow (as ``TriggerConsumer`` builds it): the definition's
    snapshot, the definitions it can start, and the workspace variables."""
    return DSLRun(
        definition=definition,
        trigger=trigger,
        action_task_queue=settings.temporal.action_task_queue,
        max_message_bytes=settings.kafka.max_message_bytes,
        max_for_each_items=settings.max_for_each_items,
        vars=dict(vars),
        workflows=reachable(definition, workflows),
    )


def start_executor(env: Mapping[str, str], log: Path, repo: Path) -> subprocess.Popen[bytes]:
    """``python -m services.executor`` with ``env`` added to ours, its output in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.executor"],
            cwd=repo,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# What cases assert on.


def report(result: WorkflowResult, ref: str) -> Any:
    """The ActionReport of ``ref`` in ``result``."""
    [found] = [a for a in result.data.actions if a.ref == ref]
    return found


def statuses(result: WorkflowResult) -> dict[str, str]:
    """``ref -> status`` of every action in the result."""
    return {a.ref: a.status for a in result.data.actions}


def overlap(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Seconds two ``conformance.sleep`` results ran at the same time (0 if they did not)."""
    return max(0.0, min(a["end"], b["end"]) - max(a["start"], b["start"]))


def most_at_once(spans: Iterable[Mapping[str, float]]) -> int:
    """The largest number of ``conformance.sleep`` calls running at one moment."""
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak
