"""start_delay and wait_until: durable Temporal timers (they appear in the run's history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType

from tests.conformance.cases import echo, workflow
from tests.conformance.harness import Stack, report

pytestmark = pytest.mark.integration


async def timers_in_history(stack: Stack, workflow_id: str) -> list[float]:
    """The durations (seconds) of the timers the run started."""
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    return [
        event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]


async def test_start_delay_waits_on_a_durable_timer(stack: Stack) -> None:
    handle = await stack.start(workflow("start-delay", [echo("later", "now", start_delay=1.0)]))
    result = await handle.result()
    assert result.data.status == "completed", result.data.error
    later = report(result, "later")
    assert later.started_at is not None and later.started_at - result.data.started_at >= timedelta(seconds=1.0)
    assert 1.0 in await timers_in_history(stack, handle.id)


async def test_wait_until_in_the_past_does_not_wait(stack: Stack) -> None:
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    result = await stack.run(
        workflow("wait-past", [echo("go", "went", wait_until="${{ TRIGGER.inputs.at }}")]), inputs={"at": an_hour_ago}
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.finished_at - result.data.started_at < timedelta(minutes=5)


async def test_wait_until_ahead_starts_the_action_at_that_time(stack: Stack) -> None:
    at = datetime.now(UTC) + timedelta(seconds=2)
    handle = await stack.start(
        workflow(
            "wait-ahead",
            [echo("first", 1), echo("go", "went", depends_on=["first"], wait_until="${{ TRIGGER.inputs.at }}")],
        ),
        inputs={"at": at.isoformat()},
    )
    result = await handle.result()
    assert result.data.status == "completed", result.data.error
    go = report(result, "go")
    assert go.started_at is not None and go.started_at >= at
    assert report(result, "first").finished_at < at
    assert len(await timers_in_history(stack, handle.id)) == 1


async def test_wait_until_a_literal_date_time(stack: Stack) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    result = await stack.run(workflow("wait-literal", [echo("go", "went", wait_until=at)]))
    assert result.data.status == "completed", result.data.error
    go = report(result, "go")
    assert go.started_at is not None and go.started_at >= datetime.fromisoformat(at)


async def test_an_unparseable_wait_until_fails_the_action(stack: Stack) -> None:
    result = await stack.run(
        workflow("wait-bad", [echo("go", "went", wait_until="${{ TRIGGER.inputs.at }}")]), inputs={"at": "tomorrow-ish"}
    )
    assert result.data.status == "failed"
    assert result.data.error is not None and "go" in result.data.error
