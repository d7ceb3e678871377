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

NAME = "trace"
HELP = "show an alert's path: hops, actions, result or dead letter"
NEEDS_SETUP = False  # it reads the span store

#: ``alertmesh up``'s default state directory (``ALERTMESH_STATE_DIR``).
DEFAULT_STATE_DIR = Path(".alertmesh")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "id", help="alert event id, correlation id, idempotency key, workflow id, trace id, or topic@partition/offset"
    )
    parser.add_argument("--state-dir", type=Path, help="the mesh's state directory (.alertmesh/)")
    parser.add_argument("--traces-dir", type=Path, help="span store (default: ALERTMESH_TRACES_DIR or <state>/traces)")
    parser.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for the trace to end"
    )
    parser.add_argument("--temporal-ui", help="Temporal UI base URL (default: TEMPORAL_UI_URL, or the running mesh's)")


def run(args: argparse.Namespace) -> int:
    return trace(args)


def traces_dir(state_dir: Path | None, explicit: Path | None) -> Path:
    """``--traces-dir``, else ``--state-dir``'s ``traces``, else ALERTMESH_TRACES_DIR, else the default state's."""
    # Imported here, as the span store below: the command table loads this module for every command's --help.
    from services.shared.tracing import TracingSettings

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
    import orjson

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
    from alertmesh.trace import find_traces, render, wait_for_traces

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
