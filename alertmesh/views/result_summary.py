"""A WorkflowResult as a few lines a person reads at a glance: the workflow and its status, then each action
with its status, attempts and duration, then the total time. ``alertmesh demo`` prints it before the event's JSON.
"""

from __future__ import annotations

from alertmesh.views.safe_text import escape, escape_lines
from schemas import ActionReport, WorkflowResult

#: Longest error message shown for a failed action (the JSON below the summary has all of it).
ERROR_CHARS = 100


def summarize(result: WorkflowResult, total_s: float | None = None) -> str:
    """The summary; ``total_s`` is the wall time from publishing the alert to reading the result, when known."""
    data = result.data
    run_s = (data.finished_at - data.started_at).total_seconds()
    lines = [
        f"workflow {escape(data.workflow)} {data.status.upper()} in {_duration(run_s * 1000)}",
        f"  workflow id {escape(data.workflow_id)}, run {escape(data.run_id)}",
    ]
    if data.error:
        lines.append(f"  error: {_short(data.error)}")
    if data.actions:
        rows = [("action", "ref", "status", "attempts", "duration")]
        rows += [_row(report) for report in data.actions]
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        for row in rows:
            lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        lines += [f"    {report.ref}: {_error(report)}" for report in data.actions if report.error is not None]
    else:
        lines.append("  no action ran")
    if data.cut:
        lines.append(f"  {len(data.cut)} value(s) cut to fit the results topic (see `cut` below)")
    if total_s is not None:
        lines.append(f"total {_duration(total_s * 1000)} from publishing the alert to reading its result")
    # Errors quote what actions met (answers of other systems, alert data): nothing of it reaches the terminal raw.
    return escape_lines("\n".join(lines))


def _row(report: ActionReport) -> tuple[str, str, str, str, str]:
    ref = report.ref if report.item is None else f"{report.ref}[{report.item}]"
    duration = _duration(report.duration_ms) if report.duration_ms is not None else "-"
    return report.action, ref, report.status, str(report.attempts), duration


def _error(report: ActionReport) -> str:
    assert report.error is not None
    return _short(f"{report.error.type}: {report.error.message}")


def _short(text: str) -> str:
    text = escape(" ".join(text.split()))
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"
