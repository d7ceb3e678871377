"""run_if and skip propagation: a skipped action is a normal outcome, its dependents skip, joins decide."""

from __future__ import annotations

import pytest

from tests.conformance.cases import echo, workflow
from tests.conformance.harness import Stack, statuses

pytestmark = pytest.mark.integration


async def test_run_if_false_skips_the_action_and_the_run_completes(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "run-if-false",
            [echo("always", "yes"), echo("page", "paged", run_if="${{ TRIGGER.inputs.page }}")],
            returns="${{ ACTIONS.always.result }}",
        ),
        inputs={"page": False},
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"always": "succeeded", "page": "skipped"}
    assert result.data.returns == "yes"


async def test_run_if_true_runs_the_action(stack: Stack) -> None:
    result = await stack.run(
        workflow("run-if-true", [echo("page", "paged", run_if="${{ TRIGGER.inputs.page }}")]),
        inputs={"page": True},
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"page": "succeeded"}


async def test_run_if_reads_an_upstream_result(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "run-if-upstream",
            [
                echo("score", 7),
                echo("high", "high", depends_on=["score"], run_if="${{ ACTIONS.score.result > 5 }}"),
                echo("low", "low", depends_on=["score"], run_if="${{ ACTIONS.score.result <= 5 }}"),
            ],
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"score": "succeeded", "high": "succeeded", "low": "skipped"}


async def test_skip_propagates_down_a_chain(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "skip-chain",
            [
                echo("gate", 1, run_if="${{ 1 > 2 }}"),
                echo("second", 2, depends_on=["gate"]),
                echo("third", 3, depends_on=["second"]),
                echo("independent", 4),
            ],
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"gate": "skipped", "second": "skipped", "third": "skipped", "independent": "succeeded"}


async def test_all_join_skips_when_one_input_was_skipped(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "join-all",
            [
                echo("ran", 1),
                echo("skipped", 2, run_if="${{ false }}"),
                echo("join", 3, depends_on=["ran", "skipped"]),
            ],
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"ran": "succeeded", "skipped": "skipped", "join": "skipped"}


async def test_any_join_runs_when_one_input_succeeded(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "join-any",
            [
                echo("ran", "from ran"),
                echo("skipped", "from skipped", run_if="${{ false }}"),
                echo("join", "${{ ACTIONS.ran.result }}", depends_on=["ran", "skipped"], join_strategy="any"),
            ],
            returns="${{ ACTIONS.join.result }}",
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"ran": "succeeded", "skipped": "skipped", "join": "succeeded"}
    assert result.data.returns == "from ran"


async def test_any_join_skips_when_every_input_was_skipped(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "join-any-none",
            [
                echo("a", 1, run_if="${{ false }}"),
                echo("b", 2, run_if="${{ false }}"),
                echo("join", 3, depends_on=["a", "b"], join_strategy="any"),
                echo("after", 4, depends_on=["join"]),
            ],
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"a": "skipped", "b": "skipped", "join": "skipped", "after": "skipped"}


async def test_run_if_on_a_join_is_evaluated_after_its_inputs(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "run-if-join",
            [
                echo("a", 2),
                echo("b", 3),
                echo(
                    "sum",
                    "${{ ACTIONS.a.result + ACTIONS.b.result }}",
                    depends_on=["a", "b"],
                    run_if="${{ ACTIONS.a.result + ACTIONS.b.result == 5 }}",
                ),
            ],
            returns="${{ ACTIONS.sum.result }}",
        )
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == 5


async def test_a_run_if_that_cannot_be_evaluated_fails_the_action(stack: Stack) -> None:
    result = await stack.run(workflow("run-if-broken", [echo("a", 1, run_if="${{ TRIGGER.inputs.missing.deeper }}")]))
    assert result.data.status == "failed"
    assert result.data.error is not None and "TRIGGER.inputs.missing.deeper" in result.data.error
