"""An alert's trace as a terminal waterfall: each hop with its service, start offset and duration, the action
attempts, the result or the dead letter, and the run's Temporal UI link (``alertmesh trace``, ``alertmesh demo``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alertmesh.trace.lookup import SpanRecord, Trace, find_traces, wait_for_traces
from alertmesh.views.safe_text import escape, escape_lines
from services.shared import tracing

#: Characters of the waterfall's bar column.
BAR_WIDTH = 30
#: Indentation stops deepening here: a deep tree must not push the names off the screen.
MAX_DEPTH = 8


def service_label(span: SpanRecord) -> str:
    """The span's service without the ``alertmesh-`` prefix, marked ``(ray)`` when a Ray worker ran it."""
    label = span.service.removeprefix("alertmesh-")
    return f"{label} (ray)" if span.attrs.get(tracing.RAY_WORKER) else label


def ordered(trace: Trace) -> list[tuple[int, SpanRecord]]:
    """The spans depth-first, children by start time, each with its depth; spans whose parent is not stored
    (another system's, or lost) start their own subtree."""
    known = {span.span_id for span in trace.spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in trace.spans:
        parent = span.parent_id if span.parent_id in known else None
        children.setdefault(parent, []).append(span)
    out: list[tuple[int, SpanRecord]] = []
    stack = [(0, span) for span in reversed(children.get(None, []))]
    while stack:
        depth, span = stack.pop()
        out.append((depth, span))
        stack.extend((depth + 1, child) for child in reversed(children.get(span.span_id, [])))
    return out


def bar(start_ns: int, end_ns: int, origin_ns: int, total_ns: int, width: int = BAR_WIDTH) -> str:
    """Where the span lies in the whole trace, as a bar of ``width`` characters."""
    if total_ns <= 0:
        return "█".ljust(width)
    first = min(int((start_ns - origin_ns) / total_ns * width), width - 1)
    length = max(1, round((end_ns - start_ns) / total_ns * width))
    return (" " * first + "█" * min(length, width - first)).ljust(width)


def temporal_link(ui: str, namespace: str, workflow_id: str, run_id: str | None) -> str:
    """The Temporal UI page of a workflow: the run's history when ``run_id`` is given, else the workflow's page."""
    base = f"{ui.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
    return f"{base}/{quote(run_id, safe='')}/history" if run_id else base


def _ids(trace: Trace) -> list[str]:
    lines = []
    named = [
        ("alert", trace.attribute(tracing.EVENT_ID)),
        ("correlation", trace.attribute(tracing.CORRELATION_ID)),
        ("idempotency key", trace.attribute(tracing.IDEMPOTENCY_KEY)),
    ]
    present = [f"{label} {value}" for label, value in named if value]
    if present:
        lines.append("  ".join(present))
    workflow = trace.attribute(tracing.WORKFLOW)
    workflow_id = trace.attribute(tracing.WORKFLOW_ID) or trace.attribute("temporalWorkflowID")
    if workflow or workflow_id:
        run = trace.attribute("temporalRunID")
        lines.append(f"workflow {workflow or '?'}  id {workflow_id or '?'}" + (f"  run {run}" if run else ""))
    return lines


def _waterfall(trace: Trace) -> list[str]:
    origin, total = trace.start_ns, trace.end_ns - trace.start_ns
    rows = [(f"{'offset ms':>10} {'duration ms':>12}  {'service':<16} {'hop':<44} waterfall")]
    for depth, span in ordered(trace):
        name = "  " * min(depth, MAX_DEPTH) + span.name
        mark = " !" if span.status == "ERROR" else ""
        rows.append(
            f"{(span.start_ns - origin) / 1e6:>10.1f} {span.duration_ms:>12.1f}  {service_label(span):<16} "
            f"{(name + mark)[:44]:<44} {bar(span.start_ns, span.end_ns, origin, total)}"
        )
    return rows


def _actions(trace: Trace) -> list[str]:
    attempts = [
        span
        for span in trace.spans
        if tracing.REF in span.attrs and not span.attrs.get(tracing.RAY_WORKER) and span.name.startswith("action ")
    ]
    if not attempts:
        return []
    rows = ["actions:", f"  {'ref':<20} {'action':<28} {'attempt':>7}  {'status':<10} {'ms':>9}  error"]
    for span in attempts:
        status = str(span.attrs.get(tracing.ACTION_STATUS, span.status.lower()))
        rows.append(
            f"  {str(span.attrs[tracing.REF])[:20]:<20} {str(span.attrs.get(tracing.ACTION, '?'))[:28]:<28} "
            f"{span.attrs.get(tracing.ATTEMPT, '?')!s:>7}  {status:<10} {span.duration_ms:>9.1f}  {span.error or ''}"
        )
    return rows


def _outcome(trace: Trace) -> list[str]:
    origin = trace.start_ns
    lines = []
    for span in trace.spans:
        at = f"+{(span.start_ns - origin) / 1e6:.1f} ms"
        if tracing.DEAD_LETTER_STAGE in span.attrs:
            lines.append(
                f"dead letter: {service_label(span)} at {at}, stage {span.attrs[tracing.DEAD_LETTER_STAGE]}: "
                f"{span.attrs.get(tracing.DEAD_LETTER_REASON, '')}"
            )
        if tracing.RESULT_STATUS in span.attrs:
            topic = span.attrs.get("messaging.destination.name", "the results topic")
            line = f"result: {span.attrs[tracing.RESULT_STATUS]}, published to {topic} at {at}"
            if span.attrs.get("alertmesh.result.id"):
                line += f" (event {span.attrs['alertmesh.result.id']})"
            lines.append(line)
            if span.attrs.get("alertmesh.result.error"):
                lines.append(f"  error: {span.attrs['alertmesh.result.error']}")
        if span.attrs.get("alertmesh.held"):
            lines.append(f"kept back by noise control at {at}: {span.attrs['alertmesh.held']}")
        if span.attrs.get("alertmesh.dropped"):
            lines.append(f"dropped at {at}: {span.attrs['alertmesh.dropped']}")
    if not lines:
        lines.append("no result or dead letter in this trace yet (still running, or its spans are not written yet)")
    return lines


def _printable_value(value: Any) -> Any:
    return escape(value) if isinstance(value, str) else value


def printable(trace: Trace) -> Trace:
    """``trace`` with every text a span carries escaped (``safe_text.escape``): names, services, errors and
    attributes come from alerts and the systems they reached."""
    spans = [
        replace(
            span,
            trace_id=escape(span.trace_id),
            span_id=escape(span.span_id),
            parent_id=None if span.parent_id is None else escape(str(span.parent_id)),
            name=escape(span.name),
            service=escape(span.service),
            status=escape(span.status),
            error=None if span.error is None else escape(str(span.error)),
            attrs={name: _printable_value(value) for name, value in span.attrs.items()},
        )
        for span in trace.spans
    ]
    return Trace(escape(trace.trace_id), spans)


def render(
    trace: Trace, *, temporal_ui: str | None = None, namespace: str = "default", others: Sequence[str] = ()
) -> str:
    """The whole view of one trace. ``others``: ids of further traces the same id named (listed at the end).
    Nothing from the spans reaches the terminal unescaped."""
    workflow_id = trace.attribute(tracing.WORKFLOW_ID) or trace.attribute("temporalWorkflowID")
    run_id = trace.attribute("temporalRunID")
    # The link is built from the raw ids (quoted for a URL), the rest from escaped ones.
    link = (
        temporal_link(temporal_ui, namespace, str(workflow_id), run_id and str(run_id))
        if workflow_id and temporal_ui
        else None
    )
    trace = printable(trace)
    total_ms = (trace.end_ns - trace.start_ns) / 1e6
    lines = [f"trace {trace.trace_id}  {len(trace.spans)} spans  {total_ms:.1f} ms", *_ids(trace), ""]
    lines += _waterfall(trace)
    actions = _actions(trace)
    if actions:
        lines += ["", *actions]
    lines += ["", *_outcome(trace)]
    if link:
        lines.append(f"Temporal UI: {escape(link)}")
    if others:
        lines.append(f"{len(others)} more trace(s) for this id: " + ", ".join(map(escape, others)))
    # Attribute values that are not text (lists, numbers) are printed with str(): escape what that may carry.
    return escape_lines("\n".join(lines))


def render_trace(
    identifier: str, traces_dir: Path, *, temporal_ui: str | None = None, namespace: str = "default"
) -> str:
    """The newest trace ``identifier`` names (an alert event id, correlation id, idempotency key, workflow id or
    trace id) in the span store at ``traces_dir``, rendered; a one-line explanation when there is none."""
    traces = find_traces(traces_dir, identifier)
    if not traces:
        return f"no trace found for {identifier!r} in {traces_dir}"
    *older, newest = traces
    return render(newest, temporal_ui=temporal_ui, namespace=namespace, others=[t.trace_id for t in older])


async def render_finished_trace(
    identifier: str,
    traces_dir: Path,
    *,
    timeout_s: float = 10.0,
    temporal_ui: str | None = None,
    namespace: str = "default",
) -> str:
    """``render_trace`` once the trace has reached its result or dead letter and every process has written its
    spans (they do about once a second), or after ``timeout_s`` with what there is: for ``alertmesh demo``, right
    after the result arrived."""
    traces = await wait_for_traces(traces_dir, identifier, timeout_s)
    if not traces:
        return f"no trace found for {identifier!r} in {traces_dir}"
    *older, newest = traces
    return render(newest, temporal_ui=temporal_ui, namespace=namespace, others=[t.trace_id for t in older])
