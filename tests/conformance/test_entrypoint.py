"""entrypoint.expects: typed trigger inputs with defaults, checked when a run starts."""

from __future__ import annotations

import pytest

from tests.conformance.cases import echo, workflow
from tests.conformance.harness import Stack

pytestmark = pytest.mark.integration

EXPECTS = {
    "host": {"type": "str"},
    "count": {"type": "int", "default": 3},
    "page": {"type": "bool", "default": False},
    "mode": {"type": "str", "default": "triage", "enum": ["triage", "contain"]},
}


def expecting(name: str) -> dict[str, object]:
    return workflow(
        name,
        [echo("inputs", "${{ TRIGGER.inputs }}")],
        returns="${{ ACTIONS.inputs.result }}",
        entrypoint={"expects": EXPECTS},
    )


async def test_missing_inputs_take_their_defaults(stack: Stack) -> None:
    result = await stack.run(expecting("expects-defaults"), inputs={"host": "a.example"})
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"host": "a.example", "count": 3, "page": False, "mode": "triage"}


async def test_given_inputs_win_over_defaults(stack: Stack) -> None:
    result = await stack.run(
        expecting("expects-given"), inputs={"host": "b", "count": 7, "page": True, "mode": "contain"}
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"host": "b", "count": 7, "page": True, "mode": "contain"}


async def test_a_type_mismatch_fails_the_run_naming_the_input(stack: Stack) -> None:
    result = await stack.run(expecting("expects-mismatch"), inputs={"host": "a", "count": "three"})
    assert result.data.status == "failed"
    assert result.data.error is not None and "count" in result.data.error
    # Nothing ran on bad input.
    assert all(a.status != "succeeded" for a in result.data.actions)


async def test_a_missing_required_input_fails_the_run(stack: Stack) -> None:
    result = await stack.run(expecting("expects-missing"), inputs={"count": 1})
    assert result.data.status == "failed"
    assert result.data.error is not None and "host" in result.data.error


async def test_a_value_outside_the_enum_fails_the_run(stack: Stack) -> None:
    result = await stack.run(expecting("expects-enum"), inputs={"host": "a", "mode": "destroy"})
    assert result.data.status == "failed"
    assert result.data.error is not None and "mode" in result.data.error
