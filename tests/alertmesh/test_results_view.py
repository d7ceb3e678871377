"""``alertmesh results`` as a table: one aligned line per result, the error of a failed one under it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from alertmesh.views import results as results_view
from alertmesh.views.result_summary import summarize
from alertmesh.views.safe_text import escape
from schemas import WorkflowResult
from schemas.actions import ActionError, ActionReport
from schemas.result import Result
from tests.shared.strategies import FUZZ, HOSTILE_TEXT, controls_in

START = datetime(2026, 11, 28, 22, 0, 1, tzinfo=UTC)


def result(status: str, *action_statuses: str, seconds: float, error: str | None = None) -> WorkflowResult:
    actions = [ActionReport(ref=f"a{i}", action="core.noop", status=s) for i, s in enumerate(action_statuses)]
    data = Result(
        workflow="triage", workflow_id="triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z",
        run_id="r", status=status, actions=actions, error=error,
        started_at=START, finished_at=START + timedelta(seconds=seconds),
    )  # fmt: skip
    return WorkflowResult(id="e", source="test", time=START, correlationid="c", causationid="c", data=data)


def test_a_completed_result_is_one_line_under_the_header() -> None:
    lines = results_view.lines(result("completed", "succeeded", "succeeded", "skipped", seconds=0.25).to_json(), 200)
    header = results_view.header(200)
    assert header.split() == ["TIME", "(UTC)", "WORKFLOW", "STATUS", "ACTIONS", "DURATION", "WORKFLOW", "ID"]
    assert lines == [
        "2026-11-28 22:00:01  triage              completed  2 ok 0 failed    250 ms    "
        "triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z"
    ]
    assert lines[0].index("triage:alertmanager") == header.index("WORKFLOW ID")  # aligned with its heading


def test_a_failed_result_shows_its_error_on_the_next_line_cut_to_the_terminal() -> None:
    failed = result("failed", "succeeded", "failed", seconds=75, error="action notify failed:\n HTTP 503 " + "x" * 200)
    first, error = results_view.lines(failed.to_json(), 80)
    assert "failed     1 ok 1 failed    1m15s" in first
    # The id is whole however narrow the terminal: it is what `alertmesh trace` and `rerun` take.
    assert first.endswith("triage:alertmanager:1a30ba71cca2921f:firing:20230206T130845.828Z")
    assert error.startswith("    error: action notify failed: HTTP 503 xxx") and len(error) == 80


def test_a_record_that_is_not_a_result_is_said_so_and_the_listing_goes_on() -> None:
    assert results_view.lines(b'{"hello": "results"}', 100)[0].startswith("(not a workflow result:")


def test_durations_read_at_a_glance() -> None:
    assert [results_view.duration(s) for s in (0.0123, 1.25, 59.94, 61, 3725)] == [
        "12 ms", "1.2 s", "59.9 s", "1m01s", "62m05s",
    ]  # fmt: skip


@FUZZ
@given(HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, st.integers(20, 200))
def test_no_line_of_a_result_holds_a_control_character_from_it(
    workflow: str, workflow_id: str, error: str, width: int
) -> None:
    hostile = result("failed", "failed", seconds=1, error=error or "x")
    hostile = hostile.model_copy(
        update={"data": hostile.data.model_copy(update={"workflow": workflow, "workflow_id": workflow_id})}
    )
    lines = results_view.lines(hostile.to_json(), width)
    assert len(lines) == 2  # the row and the error: data adds no line
    assert [line for line in lines if controls_in(line)] == []
    assert escape(workflow_id).rstrip() in lines[0]  # never cut (a row ends without its trailing spaces)


@FUZZ
@given(HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT)
def test_the_demo_summary_prints_no_control_character_from_the_result(
    workflow_id: str, error: str, action_error: str
) -> None:
    hostile = result("failed", "failed", seconds=1, error=error or "x")
    report = hostile.data.actions[0].model_copy(update={"error": ActionError(type="E", message=action_error)})
    hostile = hostile.model_copy(
        update={"data": hostile.data.model_copy(update={"workflow_id": workflow_id, "actions": [report]})}
    )
    lines = summarize(hostile, total_s=1.0).split("\n")
    assert [line for line in lines if controls_in(line)] == []
    assert len(lines) == 7  # title, ids, error, the action table (2), its error, the total: data adds no line
