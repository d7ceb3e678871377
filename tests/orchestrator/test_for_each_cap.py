"""A for_each action has at most ``max_items`` items (ORCHESTRATOR_MAX_FOR_EACH_ITEMS, carried by the run): past
it the action fails at once with an error naming the cap, nothing is dispatched, and the run goes on (error edges,
dependents skipped). 30,000 items from alert data made an 8.9 MB activity input and a workflow task failing
forever."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.contracts import DSLRun
from services.orchestrator.loops import DEFAULT_MAX_ITEMS, TOO_MANY_ITEMS
from tests.orchestrator.test_scheduler_dsl import run
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
    reports, _ = await run([LOOP], {"items": [1, 2, 3]}, max_items=2, cap_applies=lambda: False)
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
