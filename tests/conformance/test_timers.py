"""start_delay and wait_until: durable Temporal timers (they appear in the run's history). Every case's run starts
together before the first test, so the waits overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType

from tests.conformance.cases import echo, workflow
from tests.conformance.harness import CaseBuilder, Stack, Started, report, start_cases

pytestmark = pytest.mark.integration


def iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


CASES: dict[str, CaseBuilder] = {
    "start-delay": lambda stack, key: (workflow("start-delay", [echo("later", "now", start_delay=1.0)]), {}),
    "past": lambda stack, key: (
        workflow("wait-past", [echo("go", "went", wait_until="${{ TRIGGER.inputs.at }}")]),
        {"inputs": {"at": iso_in(-3600)}},
    ),
    "ahead": lambda stack, key: (
        workflow("wait-ahead", [echo("go", "went", wait_until="${{ TRIGGER.inputs.at }}")]),
        {"inputs": {"at": iso_in(2)}},
    ),
    "literal": lambda stack, key: (
        workflow(
            "wait-literal",
            [
                echo(
                    "go",
                    "went",
                    wait_until=(datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                )
            ],
        ),
        {},
    ),
    "unparseable": lambda stack, key: (
        workflow("wait-bad", [echo("go", "went", wait_until="${{ TRIGGER.inputs.at }}")]),
        {"inputs": {"at": "tomorrow-ish"}},
    ),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runs(stack: Stack) -> dict[str, Started]:
    return await start_cases(stack, CASES)


async def timers_in_history(started: Started) -> list[float]:
    """The durations (seconds) of the timers the run started."""
    history = await started.handle.fetch_history()
    return [
        event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]


async def test_start_delay_waits_on_a_durable_timer(runs: dict[str, Started]) -> None:
    result = await runs["start-delay"].result()
    assert result.data.status == "completed", result.data.error
    later = report(result, "later")
    assert later.started_at is not None and later.started_at - result.data.started_at >= timedelta(seconds=1.0)
    assert 1.0 in await timers_in_history(runs["start-delay"])


async def test_wait_until_in_the_past_does_not_wait(runs: dict[str, Started]) -> None:
    result = await runs["past"].result()
    assert result.data.status == "completed", result.data.error
    assert await timers_in_history(runs["past"]) == []


async def test_wait_until_ahead_starts_the_action_at_that_time(runs: dict[str, Started]) -> None:
    result = await runs["ahead"].result()
    at = datetime.fromisoformat(runs["ahead"].given["inputs"]["at"])
    assert result.data.status == "completed", result.data.error
    go = report(result, "go")
    assert go.started_at is not None and go.started_at >= at
    [timer] = await timers_in_history(runs["ahead"])
    assert 0 < timer <= 2


async def test_wait_until_a_literal_date_time(runs: dict[str, Started]) -> None:
    result = await runs["literal"].result()
    assert result.data.status == "completed", result.data.error
    [timer] = await timers_in_history(runs["literal"])
    assert 0 < timer <= 1.0


async def test_an_unparseable_wait_until_fails_the_action(runs: dict[str, Started]) -> None:
    result = await runs["unparseable"].result()
    assert result.data.status == "failed"
    assert result.data.error is not None and "go" in result.data.error and "tomorrow-ish" in result.data.error
