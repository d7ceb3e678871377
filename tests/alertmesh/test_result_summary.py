"""The demo's summary of a WorkflowResult: workflow and status, each action's status, attempts and duration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alertmesh.views.result_summary import summarize
from schemas import ActionError, ActionReport, Result, WorkflowResult

STARTED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def result(
    status: str = "completed", actions: list[ActionReport] | None = None, error: str | None = None
) -> WorkflowResult:
    data = Result(
        workflow="triage-playbook", workflow_id="alertmanager-1a30", run_id="run-1", status=status,
        actions=actions or [], error=error, started_at=STARTED, finished_at=STARTED + timedelta(milliseconds=1234),
    )  # fmt: skip
    return WorkflowResult(id="r-1", source="test", time=STARTED, correlationid="a-1", data=data)


def test_completed_run_lists_each_action() -> None:
    reports = [
        ActionReport(
            ref="extract_urls", action="core.text.extract_urls", status="succeeded", attempts=1, duration_ms=3.4
        ),
        ActionReport(
            ref="reputation", action="core.http_request", status="failed", item=0, attempts=3, duration_ms=15_250,
            error=ActionError(type="ConnectError", message="[Errno -2] Name or service not known"),
        ),
        ActionReport(ref="page", action="core.transform.reshape", status="skipped"),
    ]  # fmt: skip
    text = summarize(result(actions=reports), total_s=1.8)
    assert text.splitlines() == [
        "workflow triage-playbook COMPLETED in 1234 ms",
        "  workflow id alertmanager-1a30, run run-1",
        "  action                  ref            status     attempts  duration",
        "  core.text.extract_urls  extract_urls   succeeded  1         3 ms",
        "  core.http_request       reputation[0]  failed     3         15.2 s",
        "  core.transform.reshape  page           skipped    0         -",
        "    reputation: ConnectError: [Errno -2] Name or service not known",
        "total 1800 ms from publishing the alert to reading its result",
    ]


def test_failed_run_without_actions_says_why() -> None:
    text = summarize(result("failed", error="unknown action 'core.nope'\n  at step x" + "x" * 200))
    lines = text.splitlines()
    assert lines[0] == "workflow triage-playbook FAILED in 1234 ms"
    assert lines[2].startswith("  error: unknown action 'core.nope' at step x") and lines[2].endswith("…")
    assert len(lines[2]) <= 110
    assert lines[3] == "  no action ran"
    assert "{" not in text.splitlines()  # the JSON after it starts on the first line that is just "{"
