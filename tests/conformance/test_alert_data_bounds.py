"""A wait_until from alert data more than 366 days away, on the real Temporal dev server: the action fails at once
with TimerTooLong and the run ends, instead of a durable timer keeping it open for centuries. (The cap on for_each
items is in test_for_each.py.)"""

from __future__ import annotations

import pytest

from dsl.durations import MAX_SECONDS
from services.orchestrator.scheduler import TIMER_TOO_LONG
from tests.conformance.cases import echo, workflow
from tests.conformance.harness import Stack, statuses

pytestmark = pytest.mark.integration


async def test_a_wait_until_centuries_away_fails_the_action_and_the_run_ends(stack: Stack) -> None:
    definition = workflow(
        "wait-until-far",
        [
            echo("later", "never", wait_until="${{ TRIGGER.inputs.at }}"),
            echo("handler", "${{ ACTIONS.later.error.type }}", depends_on=["later.error"]),
        ],
        returns="${{ ACTIONS.handler.result }}",
    )
    result = await stack.run(definition, inputs={"at": "2999-01-01T00:00:00Z"})
    assert statuses(result) == {"later": "failed", "handler": "succeeded"}
    assert result.data.returns == TIMER_TOO_LONG
    later = next(action for action in result.data.actions if action.ref == "later")
    assert later.error is not None and f"more than the {MAX_SECONDS} s (366 days)" in later.error.message
