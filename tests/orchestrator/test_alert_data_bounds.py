"""What alert data can make a run do is bounded. A for_each action has at most ``max_items`` items
(ORCHESTRATOR_MAX_FOR_EACH_ITEMS, carried by the run): past it the action fails at once with an error naming the
cap, nothing is dispatched, and the run goes on (error edges, dependents skipped); 30,000 items from alert data made
an 8.9 MB activity input and a workflow task failing forever. A wait_until more than 366 days away fails the action
(TimerTooLong) instead of keeping the run open for centuries."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsl.durations import MAX_SECONDS
from dsl.model import WorkflowDefinition
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.contracts import DSLRun
from services.orchestrator.evaluation import RunContext
from services.orchestrator.loops import DEFAULT_MAX_ITEMS, TOO_MANY_ITEMS
from services.orchestrator.scheduler import TIMER_TOO_LONG, DagScheduler
from tests.orchestrator.factories import definition
from tests.orchestrator.fake_dispatch import START, FakeDispatch
from tests.orchestrator.test_scheduler_dsl import ACTIONS, run
from tests.shared.strategies import FUZZ

LOOP = {"ref": "each", "action": "echo", "args": {"value": "${{ var.n }}"},
        "for_each": "${{ for var.n in TRIGGER.items }}"}  # fmt: skip


async def test_a_loop_over_the_cap_fails_at_once_naming_the_cap() -> None:
    handler = {"ref": "handler", "action": "echo", "depends_on": ["each.error"],
               "args": {"value": "${{ ACTIONS.each.error.message }}"}}  # fmt: skip
    after = {"ref": "after", "action": "echo", "depends_on": ["each"]}
    reports, fake = await run([LOOP, handler, after], {"items": list(range(30_000))}, max_items=1000)
    each = reports["each"]
    assert each.status == "failed" and each.error is not None
    assert each.error.type == TOO_MANY_ITEMS
    assert "30000 items, more than the 1000" in each.error.message
    assert "ORCHESTRATOR_MAX_FOR_EACH_ITEMS" in each.error.message
    assert each.attempts == 0
    assert not any("each[" in line for line in fake.log)  # no item was ever dispatched
    assert reports["handler"].status == "succeeded" and "ORCHESTRATOR_MAX_FOR_EACH_ITEMS" in reports["handler"].result
    assert reports["after"].status == "skipped"


@given(count=st.integers(0, 60), cap=st.integers(1, 40))
@FUZZ
async def test_a_loop_runs_exactly_when_within_the_cap(count: int, cap: int) -> None:
    reports, fake = await run([LOOP], {"items": list(range(count))}, max_items=cap)
    each = reports["each"]
    if count <= cap:
        assert each.status == "succeeded"
        assert each.result == list(range(count))
    else:
        assert each.status == "failed" and each.error is not None and each.error.type == TOO_MANY_ITEMS
        assert f"{count} items, more than the {cap}" in each.error.message
        assert fake.log == []


async def test_a_run_recorded_before_the_cap_replays_its_items() -> None:
    # The workflow's patched gate answers False when replaying a history recorded before the cap: the loop runs.
    reports, _ = await run([LOOP], {"items": [1, 2, 3]}, max_items=2, bounds_apply=lambda: False)
    assert reports["each"].status == "succeeded" and reports["each"].result == [1, 2, 3]


def test_the_cap_is_a_setting_the_runs_carry(monkeypatch: pytest.MonkeyPatch) -> None:
    assert OrchestratorSettings().max_for_each_items == DEFAULT_MAX_ITEMS == 1000
    monkeypatch.setenv("ORCHESTRATOR_MAX_FOR_EACH_ITEMS", "25")
    assert OrchestratorSettings().max_for_each_items == 25
    for bad in ("0", "-1", "1000001"):
        monkeypatch.setenv("ORCHESTRATOR_MAX_FOR_EACH_ITEMS", bad)
        with pytest.raises(ValueError, match="max_for_each_items"):
            OrchestratorSettings()
    # A run input saved before the field existed decodes with the default cap.
    fields: dict[str, Any] = DSLRun.model_json_schema()["properties"]
    assert fields["max_for_each_items"]["default"] == DEFAULT_MAX_ITEMS


WAIT = {"ref": "later", "action": "echo", "args": {"value": 1}, "wait_until": "${{ TRIGGER.at }}"}
AFTER_WAIT = {"ref": "next", "action": "echo", "depends_on": ["later"]}


async def _first_steps(trigger: dict[str, Any], bounds_apply: bool = True) -> tuple[dict[str, Any], FakeDispatch]:
    """Run [WAIT, AFTER_WAIT] until it ends or starts a timer (a timer of months is not waited out): the reports
    so far, and the fake's log."""
    fake = FakeDispatch(ACTIONS, trigger)
    checked: WorkflowDefinition = definition([WAIT, AFTER_WAIT])
    scheduler = DagScheduler(checked, fake, context=RunContext(trigger=trigger), bounds_apply=lambda: bounds_apply)
    task = asyncio.create_task(scheduler.run())
    for _ in range(200):
        if task.done() or any(line.startswith("sleep") for line in fake.log):
            break
        await asyncio.sleep(0.005)
    if task.done():
        return {report.ref: report for report in task.result()}, fake
    task.cancel()
    return {}, fake


async def test_a_wait_until_millennia_away_fails_the_action_naming_the_bound() -> None:
    reports, fake = await _first_steps({"at": "9999-12-31T00:00:00Z"})
    later = reports["later"]
    assert later.status == "failed" and later.error is not None and later.error.type == TIMER_TOO_LONG
    assert f"more than the {MAX_SECONDS} s (366 days) a timer may wait" in later.error.message
    assert reports["next"].status == "skipped"
    assert fake.log == []  # no timer, no dispatch


@given(seconds=st.integers(0, 3 * MAX_SECONDS) | st.sampled_from([MAX_SECONDS, MAX_SECONDS + 1]))
@FUZZ
async def test_a_timer_is_started_exactly_when_within_a_year(seconds: int) -> None:
    at = (START + timedelta(seconds=seconds)).isoformat()
    reports, fake = await _first_steps({"at": at})
    if seconds > MAX_SECONDS:
        assert reports["later"].error is not None and reports["later"].error.type == TIMER_TOO_LONG
        assert fake.log == []
    elif seconds == 0:
        assert reports["later"].status == "succeeded"
    else:
        assert fake.log[0] == f"sleep {float(seconds):g}"  # a short one may be waited out and the batch run


async def test_a_run_recorded_before_the_bound_replays_its_long_timer() -> None:
    _, fake = await _first_steps({"at": "9999-12-31T00:00:00Z"}, bounds_apply=False)
    assert len(fake.log) == 1 and fake.log[0].startswith("sleep ")
