"""Error edges: ``ref.error`` runs only when ``ref`` failed and handles that failure; unhandled failures fail the
run and name the refs that made it fail."""

from __future__ import annotations

import pytest

from tests.conformance.cases import echo, fail, workflow
from tests.conformance.harness import Stack, report, statuses

pytestmark = pytest.mark.integration


async def test_handled_failure_completes_the_run(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "handled",
            [
                fail("lookup", "lookup service down"),
                echo("fallback", "fell back", depends_on=["lookup.error"]),
            ],
            returns={"fallback": "${{ ACTIONS.fallback.result }}", "why": "${{ ACTIONS.lookup.error }}"},
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"lookup": "failed", "fallback": "succeeded"}
    assert result.data.error is None
    # The workflow's expressions read the failure that was handled.
    assert result.data.returns["fallback"] == "fell back"
    assert result.data.returns["why"]["type"] == "PermanentError"
    assert result.data.returns["why"]["message"] == "lookup service down"


async def test_error_edge_condition_reads_the_failure(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "handled-by-type",
            [
                fail("lookup", "quota exceeded"),
                echo(
                    "wait_quota",
                    1,
                    depends_on=["lookup.error"],
                    run_if="${{ 'quota' in ACTIONS.lookup.error.message }}",
                ),
                echo(
                    "give_up",
                    2,
                    depends_on=["lookup.error"],
                    run_if="${{ not ('quota' in ACTIONS.lookup.error.message) }}",
                ),
            ],
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"lookup": "failed", "wait_quota": "succeeded", "give_up": "skipped"}


async def test_error_handler_args_read_the_failure(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "handled-args",
            [
                fail("lookup", "lookup service down"),
                echo("fallback", "${{ ACTIONS.lookup.error.message }}", depends_on=["lookup.error"]),
            ],
            returns="${{ ACTIONS.fallback.result }}",
        )
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == "lookup service down"


async def test_error_edge_is_skipped_when_the_action_succeeded(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "error-edge-unused",
            [
                echo("lookup", "found"),
                echo("fallback", "fell back", depends_on=["lookup.error"]),
                echo("use", "${{ ACTIONS.lookup.result }}", depends_on=["lookup.success"]),
            ],
            returns="${{ ACTIONS.use.result }}",
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"lookup": "succeeded", "fallback": "skipped", "use": "succeeded"}
    assert result.data.returns == "found"


async def test_success_dependents_of_a_handled_failure_are_skipped(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "handled-branches",
            [
                fail("enrich"),
                echo("use", "enriched", depends_on=["enrich"]),
                echo("then", "after use", depends_on=["use"]),
                echo("fallback", "plain", depends_on=["enrich.error"]),
            ],
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"enrich": "failed", "use": "skipped", "then": "skipped", "fallback": "succeeded"}


async def test_unhandled_failure_fails_the_run_naming_the_ref(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "unhandled",
            [fail("boom", "exploded"), echo("after", 1, depends_on=["boom"]), echo("other", 2)],
            returns="${{ ACTIONS.other.result }}",
        )
    )
    assert result.data.status == "failed"
    assert statuses(result) == {"boom": "failed", "after": "skipped", "other": "succeeded"}
    assert result.data.error is not None and "boom" in result.data.error and "exploded" in result.data.error
    assert "other" not in result.data.error
    boom = report(result, "boom")
    assert (boom.error.type, boom.error.message) == ("PermanentError", "exploded")


async def test_two_unhandled_failures_are_both_named(stack: Stack) -> None:
    result = await stack.run(workflow("two-failures", [fail("first", "one"), fail("second", "two")]))
    assert result.data.status == "failed"
    assert result.data.error is not None and "first" in result.data.error and "second" in result.data.error


async def test_a_failing_error_handler_fails_the_run(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "handler-fails",
            [fail("lookup", "down"), fail("fallback", "fallback down too", depends_on=["lookup.error"])],
        )
    )
    assert result.data.status == "failed"
    assert statuses(result) == {"lookup": "failed", "fallback": "failed"}
    assert result.data.error is not None and "fallback" in result.data.error


async def test_any_join_of_success_and_error_paths_runs_once(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "either-path",
            [
                fail("primary"),
                echo("via_primary", "primary", depends_on=["primary"]),
                echo("via_fallback", "fallback", depends_on=["primary.error"]),
                echo(
                    "notify",
                    "${{ ACTIONS.via_fallback.result }}",
                    depends_on=["via_primary", "via_fallback"],
                    join_strategy="any",
                ),
            ],
            returns="${{ ACTIONS.notify.result }}",
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result)["notify"] == "succeeded"
    assert result.data.returns == "fallback"
