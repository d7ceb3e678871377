"""DagScheduler's ``on_resolved`` with a fake dispatcher: held actions start only once the alert resolves,
``cancel_pending`` skips what has not started, and a run that ends first skips the held actions."""

from __future__ import annotations

import asyncio
from typing import Any

from dsl.model import OnResolved, WorkflowDefinition
from schemas import ActionReport
from services.orchestrator.scheduler import ALERT_RESOLVED, NOT_RESOLVED, DagScheduler, Resolution
from tests.orchestrator.factories import definition
from tests.orchestrator.fake_dispatch import FakeDispatch

ACTIONS = {"echo": lambda args, attempt: args.get("value")}
#: ``first`` runs at once; ``later`` waits on a 2000-virtual-second timer (2 s real) after it; ``note`` is held.
STEPS: list[dict[str, Any]] = [
    {"ref": "first", "action": "echo", "args": {"value": 1}},
    {"ref": "later", "action": "echo", "depends_on": ["first"], "start_delay": 2000, "args": {"value": 2}},
    {"ref": "note", "action": "echo", "depends_on": ["first"], "args": {"value": "resolved"}},
]


async def run(rules: OnResolved, resolve_after: float | None) -> tuple[dict[str, ActionReport], FakeDispatch]:
    fake = FakeDispatch(ACTIONS)
    checked: WorkflowDefinition = definition(STEPS)
    resolved = asyncio.Event()

    async def wait() -> list[ActionReport]:
        await resolved.wait()
        return []

    if resolve_after is not None:
        asyncio.get_running_loop().call_later(resolve_after, resolved.set)
    reports = await DagScheduler(checked, fake, resolution=Resolution(rules, wait)).run()
    return {r.ref: r for r in reports}, fake


def outcome(report: ActionReport) -> str:
    return report.status + (f" {report.error.type}" if report.error and report.status == "skipped" else "")


async def test_cancel_pending_skips_what_has_not_started_and_runs_the_held_actions() -> None:
    reports, fake = await run(OnResolved(cancel_pending=True, run=["note"]), resolve_after=0.3)
    assert {ref: outcome(r) for ref, r in reports.items()} == {
        "first": "succeeded",
        "later": f"skipped {ALERT_RESOLVED}",
        "note": "succeeded",
    }
    # The held action was never in first's batch, and later's timer was cancelled before it started.
    assert fake.log == ["dispatch first", "sleep 2000", "dispatch note"]


async def test_without_cancel_pending_the_rest_still_runs() -> None:
    reports, _ = await run(OnResolved(run=["note"]), resolve_after=0.3)
    assert {ref: outcome(r) for ref, r in reports.items()} == {
        "first": "succeeded",
        "later": "succeeded",
        "note": "succeeded",
    }


async def test_a_run_that_ends_before_its_alert_resolves_skips_the_held_actions() -> None:
    reports, fake = await run(OnResolved(cancel_pending=True, run=["note"]), resolve_after=None)
    assert {ref: outcome(r) for ref, r in reports.items()} == {
        "first": "succeeded",
        "later": "succeeded",
        "note": f"skipped {NOT_RESOLVED}",
    }
    assert "dispatch note" not in fake.log


async def test_a_resolution_after_the_run_ended_changes_nothing() -> None:
    reports, _ = await run(OnResolved(cancel_pending=True, run=["note"]), resolve_after=10)
    assert outcome(reports["note"]) == f"skipped {NOT_RESOLVED}"


async def test_what_depends_on_a_held_action_follows_its_skip_when_the_alert_never_resolves() -> None:
    fake = FakeDispatch(ACTIONS)
    steps = [
        *STEPS,
        {"ref": "after_note", "action": "echo", "depends_on": ["note"], "args": {"value": 3}},
        {"ref": "either", "action": "echo", "depends_on": ["note", "first"], "join_strategy": "any", "args": {}},
    ]

    async def never() -> list[ActionReport]:
        await asyncio.Event().wait()
        return []

    rules = OnResolved(run=["note"])
    reports = await DagScheduler(definition(steps), fake, resolution=Resolution(rules, never)).run()
    assert {r.ref: outcome(r) for r in reports} == {
        "first": "succeeded",
        "later": "succeeded",
        "note": f"skipped {NOT_RESOLVED}",
        "after_note": "skipped UpstreamNotSucceeded",
        "either": "succeeded",
    }
