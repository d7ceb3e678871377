"""The WorkflowResult event built from action reports."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import ActionError, ActionReport, WorkflowResult, WorkflowTrigger, result_event_id
from services.orchestrator.results import build_result
from tests.orchestrator.factories import definition, make_trigger

NOW = datetime(2024, 1, 1, tzinfo=UTC)
DEFINITION = definition(
    [{"ref": "a", "action": "x"}, {"ref": "b", "action": "x", "depends_on": ["a"]}],
    returns={"first": "${{ ACTIONS.a.result.0 }}", "team": "${{ TRIGGER.inputs.team }}"},
)


def build(reports: list[ActionReport]) -> tuple[WorkflowTrigger, WorkflowResult]:
    trigger = make_trigger()
    event = build_result(DEFINITION, trigger, reports, workflow_id="wf", run_id="run", started_at=NOW, finished_at=NOW)
    return trigger, event


def test_success_evaluates_returns_and_sets_ids() -> None:
    trigger, event = build(
        [
            ActionReport(ref="a", action="x", status="succeeded", result=["u1", "u2"]),
            ActionReport(ref="b", action="x", status="succeeded", result=None),
        ]
    )
    assert event.data.status == "completed" and event.data.error is None
    assert event.data.returns == {"first": "u1", "team": "on-call"}
    assert event.id == result_event_id("wf", "run")
    assert (event.correlationid, event.causationid, event.subject) == (trigger.correlationid, trigger.id, "test")
    assert event.source == "alertmesh/orchestrator"


def test_failure_has_summary_and_no_returns() -> None:
    _, event = build(
        [
            ActionReport(
                ref="a", action="x", status="failed", error=ActionError(type="HTTPStatusError", message="503")
            ),
            ActionReport(ref="b", action="x", status="skipped"),
        ]
    )
    assert event.data.status == "failed"
    assert event.data.returns is None
    assert event.data.error == "action 'a' failed: HTTPStatusError: 503; skipped: b"


def test_returns_template_error_fails_the_run() -> None:
    _, event = build(
        [
            ActionReport(ref="a", action="x", status="succeeded", result=[]),
            ActionReport(ref="b", action="x", status="succeeded"),
        ]
    )
    assert event.data.status == "failed"
    assert event.data.error is not None and "no index '0'" in event.data.error
