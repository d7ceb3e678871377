"""``alertmesh results`` on a terminal: one line per WorkflowResult, aligned while they stream in (the JSON lines
it prints when piped or with ``--json`` are the events exactly as on the topic)."""

from __future__ import annotations

from pydantic import ValidationError

from alertmesh.views.safe_text import escape
from alertmesh.views.table import format_row
from schemas import WorkflowResult

HEADER = ("TIME (UTC)", "WORKFLOW", "STATUS", "ACTIONS", "DURATION", "WORKFLOW ID")
#: Fixed widths so rows printed one by one line up; the workflow id, the only long cell, is last and never padded.
WIDTHS = (19, 18, 9, 15, 8)


#: A width no row reaches: the row's last cell is kept whole.
UNCUT = 1 << 16


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def duration(seconds: float) -> str:
    """``850 ms``, ``12.3 s``, ``4m05s``: short, and exact enough to compare runs at a glance."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def row(result: WorkflowResult) -> tuple[str, ...]:
    """One result's table cells: when it finished, workflow, status, actions ok/failed, duration, workflow id."""
    data = result.data
    ok = sum(1 for action in data.actions if action.status == "succeeded")
    failed = sum(1 for action in data.actions if action.status == "failed")
    when = data.finished_at.strftime("%Y-%m-%d %H:%M:%S")
    took = duration((data.finished_at - data.started_at).total_seconds())
    workflow, workflow_id = escape(data.workflow), escape(data.workflow_id)  # from the workflow file and the alert
    return when, _cut(workflow, WIDTHS[1]), escape(data.status), f"{ok} ok {failed} failed", took, workflow_id


def header(width: int) -> str:
    """The table's header line, fitted to ``width`` columns."""
    return format_row(HEADER, WIDTHS, width)


def lines(value: bytes, width: int) -> list[str]:
    """The table line(s) of one record: the result's row, then its error (failed results) cut to ``width``.
    A record that is not a result says so instead of stopping the listing."""
    try:
        result = WorkflowResult.from_json(value)
    except (ValidationError, ValueError) as error:
        reason = escape(" ".join(str(error).split()))  # a validation error quotes the record
        return [_cut(f"(not a workflow result: {reason})", width)]
    # The workflow id is never cut, however narrow the terminal: it is what `alertmesh trace` and `rerun` take.
    out = [format_row(row(result), WIDTHS, UNCUT)]
    if result.data.error:
        out.append(_cut("    error: " + escape(" ".join(result.data.error.split())), width))
    return out
