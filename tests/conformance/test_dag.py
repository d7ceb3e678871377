"""DAG shapes: diamonds, wide fan-out and fan-in, branches that really run at the same time."""

from __future__ import annotations

import pytest

from tests.conformance.harness import Stack, most_at_once, overlap, report, statuses

pytestmark = pytest.mark.integration


def sleep(ref: str, seconds: float, depends_on: list[str] | None = None, value: object = None) -> dict[str, object]:
    return {
        "ref": ref,
        "action": "conformance.sleep",
        "args": {"seconds": seconds, "label": ref, "value": value},
        "depends_on": depends_on or [],
    }


async def test_diamond_runs_each_action_once_after_its_inputs(stack: Stack) -> None:
    result = await stack.run(
        {
            "name": "diamond",
            "actions": [
                sleep("top", 0.05, value="${{ TRIGGER.inputs.seed }}"),
                sleep("left", 0.3, ["top"], value="${{ ACTIONS.top.result.value }}-L"),
                sleep("right", 0.3, ["top"], value="${{ ACTIONS.top.result.value }}-R"),
                {
                    "ref": "bottom",
                    "action": "core.transform.reshape",
                    "depends_on": ["left", "right"],
                    "args": {"value": ["${{ ACTIONS.left.result.value }}", "${{ ACTIONS.right.result.value }}"]},
                },
            ],
            "returns": "${{ ACTIONS.bottom.result }}",
        },
        inputs={"seed": "s"},
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == ["s-L", "s-R"]
    top, left, right = (report(result, ref).result for ref in ("top", "left", "right"))
    assert left["start"] >= top["end"] and right["start"] >= top["end"]
    assert report(result, "bottom").started_at >= max(
        report(result, "left").finished_at, report(result, "right").finished_at
    )
    assert all(a.attempts == 1 for a in result.data.actions)


async def test_diamond_branches_overlap_in_time(stack: Stack) -> None:
    result = await stack.run(
        {
            "name": "diamond-overlap",
            "actions": [sleep("top", 0.01), sleep("left", 0.6, ["top"]), sleep("right", 0.6, ["top"])],
        }
    )
    assert result.data.status == "completed", result.data.error
    left, right = report(result, "left").result, report(result, "right").result
    # Both branches sleep 0.6 s; run one after the other they could not share a moment.
    assert overlap(left, right) > 0.3


async def test_wide_fan_out_runs_all_branches_at_once_and_fans_in(stack: Stack) -> None:
    width = 5
    branches = [sleep(f"b{i}", 0.6, ["root"], value=i) for i in range(width)]
    result = await stack.run(
        {
            "name": "wide",
            "actions": [
                sleep("root", 0.01),
                *branches,
                {
                    "ref": "join",
                    "action": "core.transform.reshape",
                    "depends_on": [f"b{i}" for i in range(width)],
                    "args": {"value": [f"${{{{ ACTIONS.b{i}.result.value }}}}" for i in range(width)]},
                },
            ],
            "returns": "${{ ACTIONS.join.result }}",
        }
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == list(range(width))
    assert most_at_once([report(result, f"b{i}").result for i in range(width)]) == width


async def test_independent_roots_start_together(stack: Stack) -> None:
    result = await stack.run({"name": "roots", "actions": [sleep("a", 0.6), sleep("b", 0.6), sleep("c", 0.6)]})
    assert result.data.status == "completed", result.data.error
    spans = [report(result, ref).result for ref in "abc"]
    assert most_at_once(spans) == 3


async def test_long_chain_passes_results_down(stack: Stack) -> None:
    actions = [{"ref": "n0", "action": "core.transform.reshape", "args": {"value": 0}}]
    for i in range(1, 6):
        actions.append(
            {
                "ref": f"n{i}",
                "action": "core.transform.reshape",
                "depends_on": [f"n{i - 1}"],
                "args": {"value": f"${{{{ ACTIONS.n{i - 1}.result + 1 }}}}"},
            }
        )
    result = await stack.run({"name": "chain", "actions": actions, "returns": "${{ ACTIONS.n5.result }}"})
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == 5
    assert set(statuses(result).values()) == {"succeeded"}
