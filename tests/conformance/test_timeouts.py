"""Timeouts: ``retry_policy.timeout`` limits each attempt; ``config.timeout`` limits the whole run. Every case's
run starts together before the first test, so the waits overlap."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus

from tests.conformance.cases import echo, sleep, step, workflow
from tests.conformance.harness import CaseBuilder, Stack, Started, report, start_cases, statuses

pytestmark = pytest.mark.integration

CASES: dict[str, CaseBuilder] = {
    "attempt": lambda stack, key: (workflow("attempt-timeout", [sleep("slow", 5, retry_policy={"timeout": 0.5})]), {}),
    "attempt-retried": lambda stack, key: (
        workflow(
            "attempt-timeout-retry",
            [sleep("slow", 5, retry_policy={"timeout": 0.4, "max_attempts": 2, "initial_interval": 0.05})],
        ),
        {},
    ),
    "within": lambda stack, key: (workflow("within-timeout", [sleep("quick", 0.1, retry_policy={"timeout": 5})]), {}),
    "run": lambda stack, key: (
        workflow("run-timeout", [sleep("slow", 8), echo("after", 2, depends_on=["slow"])], config={"timeout": 1.5}),
        {},
    ),
    "item": lambda stack, key: (
        workflow(
            "item-timeout",
            [sleep("each", "${{ var.s }}", for_each="${{ for var.s in [0.1, 5] }}", retry_policy={"timeout": 1})],
        ),
        {},
    ),
    "child": lambda stack, key: (
        workflow(
            "child-timeout",
            [step("kid", "core.workflow.execute", {"workflow": "slow-kid"})],
            config={"timeout": 1.5},
        ),
        {"workflows": [workflow("slow-kid", [sleep("nap", 8)])]},
    ),
    "run-finished-parts": lambda stack, key: (
        workflow(
            "run-timeout-done",
            [echo("first", 1), sleep("slow", 8, depends_on=["first"]), sleep("quick", 0.01)],
            config={"timeout": 1.5},
        ),
        {},
    ),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runs(stack: Stack) -> dict[str, Started]:
    return await start_cases(stack, CASES)


async def test_an_attempt_past_its_timeout_fails_with_action_timeout(runs: dict[str, Started]) -> None:
    result = await runs["attempt"].result()
    assert result.data.status == "failed"
    slow = report(result, "slow")
    assert (slow.status, slow.attempts) == ("failed", 1)
    assert slow.error is not None and slow.error.type == "ActionTimeout"
    assert result.data.finished_at - result.data.started_at < timedelta(seconds=5)


async def test_a_timed_out_attempt_is_retried_per_the_policy(runs: dict[str, Started]) -> None:
    result = await runs["attempt-retried"].result()
    slow = report(result, "slow")
    assert (slow.status, slow.attempts) == ("failed", 2)
    assert slow.error is not None and slow.error.type == "ActionTimeout"


async def test_an_action_within_its_timeout_succeeds(runs: dict[str, Started]) -> None:
    result = await runs["within"].result()
    assert result.data.status == "completed", result.data.error


async def test_config_timeout_fails_the_run_and_stops_what_is_running(runs: dict[str, Started]) -> None:
    result = await runs["run"].result()
    assert result.data.status == "failed"
    assert result.data.error is not None and "config.timeout" in result.data.error
    # Cancelled, or never started: neither ran to success.
    assert statuses(result) == {"slow": "failed", "after": "failed"}
    # The run ended at its limit, not when the 8 s action would have.
    assert result.data.finished_at - result.data.started_at < timedelta(seconds=6)


async def test_each_for_each_item_has_its_own_attempt_timeout(runs: dict[str, Started]) -> None:
    result = await runs["item"].result()
    assert result.data.status == "failed"
    each = report(result, "each")
    assert each.result[0] is not None and each.result[0]["label"] == "each" and each.result[1] is None
    assert each.error is not None and "item 1: ActionTimeout" in each.error.message


async def test_config_timeout_stops_a_waited_child(runs: dict[str, Started], stack: Stack) -> None:
    result = await runs["child"].result()
    assert result.data.status == "failed"
    assert statuses(result) == {"kid": "failed"}
    child = await stack.client.get_workflow_handle(f"{runs['child'].handle.id}/kid").describe()
    assert child.status in (WorkflowExecutionStatus.TERMINATED, WorkflowExecutionStatus.CANCELED)


async def test_config_timeout_keeps_actions_that_finished_before_it(runs: dict[str, Started]) -> None:
    result = await runs["run-finished-parts"].result()
    assert result.data.status == "failed"
    assert statuses(result) == {"first": "succeeded", "slow": "failed", "quick": "succeeded"}
