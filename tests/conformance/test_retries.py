"""retry_policy: attempts, backoff between them (observed from the attempts' own timestamps), retry_until and
non_retryable error types. Intervals are fractions of a second to keep the suite fast."""

from __future__ import annotations

import itertools

import pytest

from tests.conformance.actions import read_calls
from tests.conformance.cases import step, workflow
from tests.conformance.harness import Stack, report

pytestmark = pytest.mark.integration


def flaky(stack: Stack, key: str, fail_times: int, **policy: object) -> dict[str, object]:
    args = {"log_dir": str(stack.log_dir), "key": key, "fail_times": fail_times, "value": "done"}
    return step("flaky", "conformance.flaky", args, retry_policy=policy)


def gaps(stack: Stack, key: str) -> list[float]:
    times = [call["at"] for call in read_calls(stack.log_dir, key)]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_failed_attempts_are_retried_until_one_succeeds(stack: Stack) -> None:
    key = stack.call_log_key()
    result = await stack.run(
        workflow(
            "retry-ok", [flaky(stack, key, 2, max_attempts=3, initial_interval=0.05)], "${{ ACTIONS.flaky.result }}"
        )
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"call": 3, "value": "done"}
    assert report(result, "flaky").attempts == 3
    assert len(read_calls(stack.log_dir, key)) == 3


async def test_retries_back_off_by_the_coefficient(stack: Stack) -> None:
    key = stack.call_log_key()
    policy = {"max_attempts": 4, "initial_interval": 0.2, "backoff_coefficient": 2.0, "maximum_interval": 10}
    result = await stack.run(workflow("retry-backoff", [flaky(stack, key, 3, **policy)]))
    assert result.data.status == "completed", result.data.error
    assert report(result, "flaky").attempts == 4
    first, second, third = gaps(stack, key)
    # Each wait at least the policy's: 0.2 s, 0.4 s, 0.8 s.
    assert first >= 0.2 and second >= 0.4 and third >= 0.8


async def test_backoff_is_capped_by_maximum_interval(stack: Stack) -> None:
    key = stack.call_log_key()
    policy = {"max_attempts": 3, "initial_interval": 0.2, "backoff_coefficient": 20.0, "maximum_interval": 0.3}
    result = await stack.run(workflow("retry-cap", [flaky(stack, key, 2, **policy)]))
    assert result.data.status == "completed", result.data.error
    first, second = gaps(stack, key)
    # Uncapped, the second wait would be 4 s.
    assert first >= 0.2 and 0.3 <= second < 3.0


async def test_attempts_run_out_and_the_action_fails(stack: Stack) -> None:
    key = stack.call_log_key()
    result = await stack.run(workflow("retry-exhausted", [flaky(stack, key, 5, max_attempts=2, initial_interval=0.05)]))
    assert result.data.status == "failed"
    flaky_report = report(result, "flaky")
    assert (flaky_report.status, flaky_report.attempts) == ("failed", 2)
    assert flaky_report.error is not None and flaky_report.error.type == "TransientError"
    assert len(read_calls(stack.log_dir, key)) == 2


async def test_default_policy_runs_a_failing_action_once(stack: Stack) -> None:
    key = stack.call_log_key()
    args = {"log_dir": str(stack.log_dir), "key": key, "fail_times": 1}
    result = await stack.run(workflow("retry-default", [step("flaky", "conformance.flaky", args)]))
    assert result.data.status == "failed"
    assert report(result, "flaky").attempts == 1
    assert len(read_calls(stack.log_dir, key)) == 1


async def test_non_retryable_error_types_fail_at_once(stack: Stack) -> None:
    policy = {"max_attempts": 5, "initial_interval": 0.05, "non_retryable": ["PermanentError"]}
    result = await stack.run(
        workflow(
            "non-retryable",
            [
                step("permanent", "conformance.fail", {"message": "no", "kind": "PermanentError"}, retry_policy=policy),
                step(
                    "transient", "conformance.fail", {"message": "again", "kind": "TransientError"}, retry_policy=policy
                ),
            ],
        )
    )
    assert result.data.status == "failed"
    assert report(result, "permanent").attempts == 1
    assert report(result, "transient").attempts == 5


async def test_retry_until_retries_until_the_result_holds(stack: Stack) -> None:
    key = stack.call_log_key()
    poll = step(
        "poll",
        "conformance.count",
        {"log_dir": str(stack.log_dir), "key": key},
        retry_policy={"max_attempts": 5, "initial_interval": 0.05, "retry_until": "${{ ACTIONS.poll.result >= 3 }}"},
    )
    result = await stack.run(workflow("retry-until", [poll], "${{ ACTIONS.poll.result }}"))
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == 3
    assert report(result, "poll").attempts == 3


async def test_retry_until_that_never_holds_fails_the_action(stack: Stack) -> None:
    key = stack.call_log_key()
    poll = step(
        "poll",
        "conformance.count",
        {"log_dir": str(stack.log_dir), "key": key},
        retry_policy={"max_attempts": 2, "initial_interval": 0.05, "retry_until": "${{ ACTIONS.poll.result > 100 }}"},
    )
    result = await stack.run(workflow("retry-until-never", [poll]))
    assert result.data.status == "failed"
    poll_report = report(result, "poll")
    assert (poll_report.status, poll_report.attempts) == ("failed", 2)
    assert poll_report.error is not None and poll_report.error.type == "RetryUntil"
