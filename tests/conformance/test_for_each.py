"""for_each: one run per item, results in input order, zipped lists, a concurrency cap, empty lists, the cap on
items (ORCHESTRATOR_MAX_FOR_EACH_ITEMS)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from services.orchestrator.loops import TOO_MANY_ITEMS
from services.orchestrator.scheduler import BOUNDS_PATCH
from tests.conformance.actions import read_calls
from tests.conformance.cases import echo, sleep, step, workflow
from tests.conformance.harness import Stack, most_at_once, report, statuses

pytestmark = pytest.mark.integration

HISTORIES = Path(__file__).parents[1] / "orchestrator" / "histories"


async def test_results_are_in_input_order_whatever_finishes_first(stack: Stack) -> None:
    # The first item sleeps longest, so items finish in reverse order.
    result = await stack.run(
        workflow(
            "for-each-order",
            [
                sleep(
                    "each",
                    "${{ var.s }}",
                    value="${{ var.s }}",
                    for_each="${{ for var.s in TRIGGER.inputs.seconds }}",
                )
            ],
            returns="${{ ACTIONS.each.result }}",
        ),
        inputs={"seconds": [0.6, 0.4, 0.2, 0.0]},
    )
    assert result.data.status == "completed", result.data.error
    items = report(result, "each").result
    assert [item["value"] for item in items] == [0.6, 0.4, 0.2, 0.0]
    assert items[0]["end"] > items[-1]["end"]


async def test_zipped_lists_bind_item_by_item(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "for-each-zip",
            [
                echo(
                    "pairs",
                    "${{ var.host }}:${{ var.port }}",
                    for_each=[
                        "${{ for var.host in TRIGGER.inputs.hosts }}",
                        "${{ for var.port in TRIGGER.inputs.ports }}",
                    ],
                )
            ],
            returns="${{ ACTIONS.pairs.result }}",
        ),
        inputs={"hosts": ["a", "b", "c"], "ports": [1, 2, 3]},
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == ["a:1", "b:2", "c:3"]


async def test_zipped_lists_of_different_lengths_fail_the_action(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "for-each-zip-mismatch",
            [
                echo(
                    "pairs",
                    "${{ var.a }}",
                    for_each=["${{ for var.a in [1, 2] }}", "${{ for var.b in [1, 2, 3] }}"],
                )
            ],
        )
    )
    assert result.data.status == "failed"
    assert result.data.error is not None and "length" in result.data.error


async def test_max_concurrency_caps_items_running_at_once(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "for-each-cap",
            [
                sleep(
                    "each", 0.4, value="${{ var.i }}", for_each="${{ for var.i in [1, 2, 3, 4, 5] }}", max_concurrency=2
                )
            ],
        )
    )
    assert result.data.status == "completed", result.data.error
    items = report(result, "each").result
    assert [item["value"] for item in items] == [1, 2, 3, 4, 5]
    # Never more than two at once, and the cap was used (two did run together).
    assert most_at_once(items) == 2


async def test_without_a_cap_items_run_at_once(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "for-each-parallel", [sleep("each", 0.6, value="${{ var.i }}", for_each="${{ for var.i in [1, 2, 3, 4] }}")]
        )
    )
    assert result.data.status == "completed", result.data.error
    assert most_at_once(report(result, "each").result) == 4


async def test_empty_list_gives_an_empty_result(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "for-each-empty",
            [
                echo("each", "${{ var.x }}", for_each="${{ for var.x in TRIGGER.inputs.items }}"),
                echo("after", "${{ ACTIONS.each.result }}", depends_on=["each"]),
            ],
            returns="${{ ACTIONS.after.result }}",
        ),
        inputs={"items": []},
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"each": "succeeded", "after": "succeeded"}
    assert result.data.returns == []


async def test_for_each_over_an_upstream_result(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "for-each-upstream",
            [
                echo("hosts", ["x.example", "y.example"]),
                echo(
                    "each",
                    "checked ${{ var.h }}",
                    depends_on=["hosts"],
                    for_each="${{ for var.h in ACTIONS.hosts.result }}",
                ),
            ],
            returns="${{ ACTIONS.each.result }}",
        )
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == ["checked x.example", "checked y.example"]


async def test_a_failing_item_fails_the_action_naming_the_item(stack: Stack) -> None:
    result = await stack.run(
        workflow(
            "for-each-item-fails",
            [
                step(
                    "each",
                    "core.require",
                    {"conditions": {"not_two": "${{ var.n != 2 }}"}},
                    for_each="${{ for var.n in [1, 2, 3] }}",
                )
            ],
        )
    )
    assert result.data.status == "failed"
    each = report(result, "each")
    assert each.status == "failed" and each.error is not None
    # Item 1 (the value 2) failed, and the message says which condition did not hold.
    assert "item 1" in each.error.message and "not_two" in each.error.message
    assert "item 0" not in each.error.message and "item 2" not in each.error.message


async def test_each_item_is_retried_on_its_own(stack: Stack) -> None:
    key = stack.call_log_key()
    result = await stack.run(
        workflow(
            "for-each-retry",
            [
                step(
                    "each",
                    "conformance.flaky",
                    {
                        "log_dir": str(stack.log_dir),
                        "key": f"{key}-${{{{ var.i }}}}",
                        "fail_times": "${{ var.i }}",
                        "value": "${{ var.i }}",
                    },
                    for_each="${{ for var.i in [0, 1, 2] }}",
                    retry_policy={"max_attempts": 3, "initial_interval": 0.05},
                )
            ],
            returns="${{ ACTIONS.each.result }}",
        )
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == [{"call": 1, "value": 0}, {"call": 2, "value": 1}, {"call": 3, "value": 2}]
    assert [len(read_calls(stack.log_dir, f"{key}-{i}")) for i in range(3)] == [1, 2, 3]


def _capped_loop(name: str) -> dict[str, object]:
    """A loop over the alert's items, an error edge reading its error, and a dependent that must be skipped."""
    return workflow(
        name,
        [
            echo("each", "${{ var.n }}", for_each="${{ for var.n in TRIGGER.inputs.items }}"),
            echo("handler", "${{ ACTIONS.each.error.type }}: ${{ ACTIONS.each.error.message }}",
                 depends_on=["each.error"]),
            echo("after", "never", depends_on=["each"]),
        ],
        returns="${{ ACTIONS.handler.result }}",
    )  # fmt: skip


async def test_items_from_alert_data_beyond_the_cap_fail_the_action_not_the_workflow_task(stack: Stack) -> None:
    # 30,000 items made one activity input of 8.9 MB, over Temporal's 2 MB limit: the workflow task failed again
    # and again and the run never ended. Now the action fails at once, naming the cap, and the run goes on.
    cap = stack.settings.max_for_each_items
    result = await stack.run(_capped_loop("for-each-too-many"), inputs={"items": list(range(30_000))})
    # The orchestrator's metric counts it once the result is published (by the worker in this process).
    await stack.results_on_topic(result.data.workflow_id)
    assert REGISTRY.get_sample_value("alertmesh_for_each_capped_total", {"workflow": "for-each-too-many"}) == 1
    assert result.data.status == "completed", result.data.error  # the failure is handled by its error edge
    assert statuses(result) == {"each": "failed", "handler": "succeeded", "after": "skipped"}
    each = next(action for action in result.data.actions if action.ref == "each")
    assert each.error is not None and each.error.type == TOO_MANY_ITEMS
    assert f"30000 items, more than the {cap}" in each.error.message
    assert result.data.returns.startswith(f"{TOO_MANY_ITEMS}: ")
    assert "ORCHESTRATOR_MAX_FOR_EACH_ITEMS" in result.data.returns


async def test_a_loop_of_exactly_the_cap_runs_and_one_more_is_refused(stack: Stack) -> None:
    cap = stack.settings.max_for_each_items
    full = await stack.run(_capped_loop("for-each-at-cap"), inputs={"items": list(range(cap))})
    assert statuses(full) == {"each": "succeeded", "handler": "skipped", "after": "succeeded"}
    assert report(full, "each").result == list(range(cap))
    handle = await stack.start(_capped_loop("for-each-over-cap"), inputs={"items": list(range(cap + 1))})
    over = await handle.result()
    assert statuses(over) == {"each": "failed", "handler": "succeeded", "after": "skipped"}
    history = await handle.fetch_history()
    markers = [event for event in history.events if event.marker_recorded_event_attributes.marker_name == "core_patch"]
    assert len(markers) == 1  # the patched gate: recorded once, by the run that went over the cap
    assert BOUNDS_PATCH in str(markers[0].marker_recorded_event_attributes)
    if os.environ.get("ALERTMESH_RECORD_HISTORIES") == "1":
        (HISTORIES / f"{BOUNDS_PATCH}.json").write_text(history.to_json())
