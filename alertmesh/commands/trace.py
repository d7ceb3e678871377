"""``alertmesh trace ID``: what happened to an alert, as a waterfall of its trace from the local span store.

``ID`` is an alert event id, a correlation id, an idempotency key, a workflow id or a trace id. The spans come
from the directory ``alertmesh up`` keeps them in (``<state-dir>/traces``, or ``ALERTMESH_TRACES_DIR``); with
OTLP export instead, look the trace up in your tracing backend.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import orjson

from alertmesh.trace import find_traces, render, wait_for_traces
from services.shared.tracing import TracingSettings

#: ``alertmesh up``'s default state directory (``ALERTMESH_STATE_DIR``).
DEFAULT_STATE_DIR = Path(".alertmesh")


def traces_dir(state_dir: Path | None, explicit: Path | None) -> Path:
    """``--traces-dir``, else ``--state-dir``'s ``traces``, else ALERTMESH_TRACES_DIR, else the default state's."""
    if explicit is not None:
        return explicit
    if state_dir is not None:
        return state_dir / "traces"
    configured = TracingSettings().dir
    if configured is not None:
        return configured
    return Path(os.environ.get("ALERTMESH_STATE_DIR") or DEFAULT_STATE_DIR) / "traces"


def temporal_ui(state_dir: Path | None, explicit: str | None) -> str | None:
    """``--temporal-ui``, else TEMPORAL_UI_URL, else ``temporal_ui`` of the mesh's ``mesh.json`` (written by
    ``alertmesh up``), else None (no link is printed)."""
    if explicit:
        return explicit
    if os.environ.get("TEMPORAL_UI_URL"):
        return os.environ["TEMPORAL_UI_URL"]
    mesh_json = (state_dir or Path(os.environ.get("ALERTMESH_STATE_DIR") or DEFAULT_STATE_DIR)) / "mesh.json"
    try:
        ui = orjson.loads(mesh_json.read_bytes()).get("temporal_ui")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return None
    return ui if isinstance(ui, str) and ui else None


def trace(args: argparse.Namespace) -> int:
    """Print the newest trace the id names; 1 when there is none."""
    directory = traces_dir(args.state_dir, args.traces_dir)
    if args.wait > 0:
        traces = asyncio.run(wait_for_traces(directory, args.id, args.wait))
    else:
        traces = find_traces(directory, args.id)
    if not traces:
        where = directory if directory.is_dir() else f"{directory} (no such directory: is the mesh's state elsewhere?)"
        print(f"no trace found for {args.id!r} in {where}", file=sys.stderr)
        return 1
    *older, newest = traces
    ui = temporal_ui(args.state_dir, args.temporal_ui)
    namespace = os.environ.get("TEMPORAL_NAMESPACE") or "default"
    print(render(newest, temporal_ui=ui, namespace=namespace, others=[t.trace_id for t in older]))
    return 0
