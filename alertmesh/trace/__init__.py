"""An alert's trace from the local span store: finding it by any id (``lookup``) and drawing it (``view``)."""

from alertmesh.trace.lookup import SpanRecord, Trace, find_traces, wait_for_traces
from alertmesh.trace.view import render, render_finished_trace

__all__ = ["SpanRecord", "Trace", "find_traces", "render", "render_finished_trace", "wait_for_traces"]
