"""for_each: one run per item, results in input order, zipped lists, a concurrency cap, empty lists."""

from __future__ import annotations

import pytest

from tests.conformance.actions import read_calls
from tests.conformance.cases import echo, sleep, step, workflow
from tests.conformance.harness import Stack, most_at_once, report, statuses

pytestmark = pytest.mark.integration


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
