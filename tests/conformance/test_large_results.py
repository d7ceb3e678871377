"""Results over the blob threshold are stored outside Temporal's history and read through downstream."""

from __future__ import annotations

import pytest

from schemas.actions import stored_result
from tests.conformance.cases import echo, step, workflow
from tests.conformance.harness import BLOB_THRESHOLD_BYTES, Stack, report

pytestmark = pytest.mark.integration

SIZE = BLOB_THRESHOLD_BYTES * 2


async def test_a_large_result_is_stored_and_only_a_reference_is_in_history(stack: Stack) -> None:
    handle = await stack.start(workflow("large-stored", [step("big", "conformance.big", {"size": SIZE})]))
    result = await handle.result()
    assert result.data.status == "completed", result.data.error
    stored = stored_result(report(result, "big").result)
    assert stored is not None and stored.size > SIZE
    history = (await handle.fetch_history()).to_json()
    assert "x" * 1000 not in history
    assert len(history) < SIZE


async def test_downstream_actions_read_through_a_stored_result(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "large-read-through",
            [
                step("big", "conformance.big", {"size": SIZE}),
                echo("size", "${{ ACTIONS.big.result.size }}", depends_on=["big"]),
                echo("length", "${{ FN.length(ACTIONS.big.result.text) }}", depends_on=["big"]),
            ],
            returns={"size": "${{ ACTIONS.size.result }}", "length": "${{ ACTIONS.length.result }}"},
        )
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"size": SIZE, "length": SIZE}


async def test_returns_pass_a_stored_result_through_by_reference(stack: Stack) -> None:
    result = await stack.run(
        workflow("large-returns", [step("big", "conformance.big", {"size": SIZE})], returns="${{ ACTIONS.big.result }}")
    )
    assert result.data.status == "completed", result.data.error
    stored = stored_result(result.data.returns)
    assert stored is not None and stored.uri.startswith("file://")


async def test_a_workflow_expression_reading_into_a_stored_result_fails_clearly(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "large-run-if",
            [
                step("big", "conformance.big", {"size": SIZE}),
                echo("gate", 1, depends_on=["big"], run_if="${{ ACTIONS.big.result.size > 0 }}"),
            ],
        )
    )
    assert result.data.status == "failed"
    assert result.data.error is not None and "stored outside history" in result.data.error


async def test_small_results_stay_inline(stack: Stack) -> None:
    result = await stack.run(workflow("small-inline", [step("small", "conformance.big", {"size": 100})]))
    assert report(result, "small").result == {"text": "x" * 100, "size": 100}
