"""retry_policy: attempts, backoff between them (observed from the attempts' own timestamps), retry_until and
non_retryable error types. Intervals are fractions of a second; every case's run starts together before the first
test (``start_cases``), so their backoffs overlap."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import pytest_asyncio

from tests.conformance.actions import read_calls
from tests.conformance.cases import step, workflow
from tests.conformance.harness import CaseBuilder, Definition, Stack, Started, report, start_cases

pytestmark = pytest.mark.integration


def flaky(stack: Stack, key: str, fail_times: int, **policy: object) -> dict[str, object]:
    args = {"log_dir": str(stack.log_dir), "key": key, "fail_times": fail_times, "value": "done"}
    return step("flaky", "conformance.flaky", args, retry_policy=policy)


def count(stack: Stack, key: str, **policy: object) -> dict[str, object]:
    return step("poll", "conformance.count", {"log_dir": str(stack.log_dir), "key": key}, retry_policy=policy)


def gaps(stack: Stack, key: str) -> list[float]:
    times = [call["at"] for call in read_calls(stack.log_dir, key)]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def only(document: Definition) -> tuple[Definition, dict[str, Any]]:
    return document, {}


CASES: dict[str, CaseBuilder] = {
    "retried": lambda stack, key: only(
        workflow(
            "retry-ok", [flaky(stack, key, 2, max_attempts=3, initial_interval=0.05)], "${{ ACTIONS.flaky.result }}"
        )
    ),
    "backoff": lambda stack, key: only(
        workflow(
            "retry-backoff",
            [flaky(stack, key, 3, max_attempts=4, initial_interval=0.2, backoff_coefficient=2.0, maximum_interval=10)],
        )
    ),
    "capped": lambda stack, key: only(
        workflow(
            "retry-cap",
            [
                flaky(
                    stack, key, 2, max_attempts=3, initial_interval=0.2, backoff_coefficient=20.0, maximum_interval=0.3
                )
            ],
        )
    ),
    "exhausted": lambda stack, key: only(
        workflow("retry-exhausted", [flaky(stack, key, 5, max_attempts=2, initial_interval=0.05)])
    ),
    "default": lambda stack, key: only(
        workflow(
            "retry-default",
            [step("flaky", "conformance.flaky", {"log_dir": str(stack.log_dir), "key": key, "fail_times": 1})],
        )
    ),
    "non-retryable": lambda stack, key: only(
        workflow(
            "non-retryable",
            [
                step(
                    "permanent",
                    "conformance.fail",
                    {"message": "no", "kind": "PermanentError"},
                    retry_policy={"max_attempts": 5, "initial_interval": 0.05, "non_retryable": ["PermanentError"]},
                ),
                step(
                    "transient",
                    "conformance.fail",
                    {"message": "again", "kind": "TransientError"},
                    retry_policy={"max_attempts": 5, "initial_interval": 0.05, "non_retryable": ["PermanentError"]},
                ),
            ],
        )
    ),
    "until": lambda stack, key: only(
        workflow(
            "retry-until",
            [count(stack, key, max_attempts=5, initial_interval=0.05, retry_until="${{ ACTIONS.poll.result >= 3 }}")],
            "${{ ACTIONS.poll.result }}",
        )
    ),
    "until-bare": lambda stack, key: only(
        workflow(
            "retry-until-bare",
            [count(stack, key, max_attempts=5, initial_interval=0.05, retry_until="ACTIONS.poll.result == 2")],
            "${{ ACTIONS.poll.result }}",
        )
    ),
    "until-never": lambda stack, key: only(
        workflow(
            "retry-until-never",
            [count(stack, key, max_attempts=2, initial_interval=0.05, retry_until="${{ ACTIONS.poll.result > 100 }}")],
        )
    ),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runs(stack: Stack) -> dict[str, Started]:
    return await start_cases(stack, CASES)


async def test_failed_attempts_are_retried_until_one_succeeds(stack: Stack, runs: dict[str, Started]) -> None:
    result = await runs["retried"].result()
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"call": 3, "value": "done"}
    assert report(result, "flaky").attempts == 3
    assert len(read_calls(stack.log_dir, runs["retried"].key)) == 3


async def test_retries_back_off_by_the_coefficient(stack: Stack, runs: dict[str, Started]) -> None:
    result = await runs["backoff"].result()
    assert result.data.status == "completed", result.data.error
    assert report(result, "flaky").attempts == 4
    first, second, third = gaps(stack, runs["backoff"].key)
    # Each wait at least the policy's: 0.2 s, 0.4 s, 0.8 s.
    assert first >= 0.2 and second >= 0.4 and third >= 0.8


async def test_backoff_is_capped_by_maximum_interval(stack: Stack, runs: dict[str, Started]) -> None:
    result = await runs["capped"].result()
    assert result.data.status == "completed", result.data.error
    first, second = gaps(stack, runs["capped"].key)
    # Uncapped, the second wait would be 4 s.
    assert first >= 0.2 and 0.3 <= second < 3.0


async def test_attempts_run_out_and_the_action_fails(stack: Stack, runs: dict[str, Started]) -> None:
    result = await runs["exhausted"].result()
    assert result.data.status == "failed"
    flaky_report = report(result, "flaky")
    assert (flaky_report.status, flaky_report.attempts) == ("failed", 2)
    assert flaky_report.error is not None and flaky_report.error.type == "TransientError"
    assert len(read_calls(stack.log_dir, runs["exhausted"].key)) == 2


async def test_default_policy_runs_a_failing_action_once(stack: Stack, runs: dict[str, Started]) -> None:
    result = await runs["default"].result()
    assert result.data.status == "failed"
    assert report(result, "flaky").attempts == 1
    assert len(read_calls(stack.log_dir, runs["default"].key)) == 1


async def test_non_retryable_error_types_fail_at_once(runs: dict[str, Started]) -> None:
    result = await runs["non-retryable"].result()
    assert result.data.status == "failed"
    assert report(result, "permanent").attempts == 1
    assert report(result, "transient").attempts == 5


async def test_retry_until_retries_until_the_result_holds(runs: dict[str, Started]) -> None:
    result = await runs["until"].result()
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == 3
    assert report(result, "poll").attempts == 3


async def test_retry_until_may_be_a_bare_expression(runs: dict[str, Started]) -> None:
    result = await runs["until-bare"].result()
    assert result.data.status == "completed", result.data.error
    assert (result.data.returns, report(result, "poll").attempts) == (2, 2)


async def test_retry_until_that_never_holds_fails_the_action(runs: dict[str, Started]) -> None:
    result = await runs["until-never"].result()
    assert result.data.status == "failed"
    poll_report = report(result, "poll")
    assert (poll_report.status, poll_report.attempts) == ("failed", 2)
    assert poll_report.error is not None and poll_report.error.type == "RetryUntil"
