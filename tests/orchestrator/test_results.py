"""The WorkflowResult event built from action reports."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import ActionError, ActionReport, WorkflowResult, WorkflowTrigger, result_event_id
from services.orchestrator.evaluation import RunContext
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
    # The error names what made the run fail; a skip is a normal outcome and is not listed.
    assert event.data.error == "action 'a' failed: HTTPStatusError: 503"


def test_returns_template_error_fails_the_run() -> None:
    _, event = build(
        [
            ActionReport(ref="a", action="x", status="succeeded", result=[]),
            ActionReport(ref="b", action="x", status="succeeded"),
        ]
    )
    assert event.data.status == "failed"
    assert event.data.error is not None and "no index '0'" in event.data.error


def test_skips_never_fail_a_run_and_read_as_null() -> None:
    only_skips = definition(
        [{"ref": "a", "action": "x", "run_if": "${{ false }}"}, {"ref": "b", "action": "x", "depends_on": ["a"]}],
        returns={"a": "${{ ACTIONS.a.result }}"},
    )
    reports = [ActionReport(ref=ref, action="x", status="skipped") for ref in "ab"]
    event = build_result(
        only_skips, make_trigger(), reports, workflow_id="w", run_id="r", started_at=NOW, finished_at=NOW
    )
    assert (event.data.status, event.data.error, event.data.returns) == ("completed", None, {"a": None})


def test_a_failure_with_an_error_edge_out_of_it_is_handled() -> None:
    handled = definition(
        [{"ref": "a", "action": "x"}, {"ref": "h", "action": "x", "depends_on": ["a.error"]}],
        returns="${{ ACTIONS.a.error.message }}",
    )
    reports = [
        ActionReport(ref="a", action="x", status="failed", error=ActionError(type="E", message="bad")),
        ActionReport(ref="h", action="x", status="succeeded"),
    ]
    event = build_result(handled, make_trigger(), reports, workflow_id="w", run_id="r", started_at=NOW, finished_at=NOW)
    assert (event.data.status, event.data.returns) == ("completed", "bad")


def test_a_run_error_comes_first_and_fails_the_run() -> None:
    reports = [ActionReport(ref="a", action="x", status="failed", error=ActionError(type="E", message="m"))]
    event = build_result(
        DEFINITION, make_trigger(), reports, workflow_id="w", run_id="r", started_at=NOW, finished_at=NOW,
        run_error="the run did not finish within its config.timeout of 5 s",
    )  # fmt: skip
    assert event.data.error == "the run did not finish within its config.timeout of 5 s; action 'a' failed: E: m"


def test_returns_reads_env_and_vars_and_passes_a_stored_result_through_whole() -> None:
    stored = {"$stored": {"uri": "file:///b", "size": 300000, "sha256": "ab"}}
    whole = definition(
        [{"ref": "a", "action": "x"}],
        returns={"big": "${{ ACTIONS.a.result }}", "id": "${{ ENV.workflow_id }}", "team": "${{ VARS.team }}"},
    )
    context = RunContext(trigger={}, env={"workflow_id": "w"}, vars={"team": "soc"})
    reports = [ActionReport(ref="a", action="x", status="succeeded", result=stored)]
    event = build_result(
        whole, make_trigger(), reports, workflow_id="w", run_id="r", started_at=NOW, finished_at=NOW, context=context
    )
    assert event.data.returns == {"big": stored, "id": "w", "team": "soc"}

    into = definition([{"ref": "a", "action": "x"}], returns="${{ ACTIONS.a.result.items }}")
    event = build_result(
        into, make_trigger(), reports, workflow_id="w", run_id="r", started_at=NOW, finished_at=NOW, context=context
    )
    assert event.data.status == "failed"
    assert event.data.error == (
        "returns: '${{ ACTIONS.a.result.items }}': ACTIONS.a.result is stored outside history (300000 bytes); "
        "only action args can read into it"
    )
