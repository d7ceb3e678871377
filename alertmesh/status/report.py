"""``alertmesh status``: is the mesh healthy, and what flows through it? Once, or refreshed with ``--watch``.

It finds the parts in ``<state-dir>/mesh.json`` (written by ``alertmesh up``); a mesh deployed another way is
described with ``--health NAME=URL`` / ``--metrics NAME=URL`` (or ``ALERTMESH_STATUS_HEALTH`` /
``ALERTMESH_STATUS_METRICS``, comma-separated) plus the usual ``KAFKA_*`` and ``TEMPORAL_*`` settings.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import orjson
from pydantic_settings import BaseSettings, SettingsConfigDict

from alertmesh.stack.state import mesh_file, read_mesh_state
from alertmesh.status import render as status_render
from alertmesh.status.noise import NoiseReader
from alertmesh.status.noise import as_json as noise_json
from alertmesh.status.noise import text as noise_text
from alertmesh.status.sources import PartTarget, Sources, Target, parts_from_mesh
from alertmesh.views.safe_text import escape_json
from services.ingest.config import IngestSettings
from services.orchestrator.config import OrchestratorSettings
from services.shared.kafka import KafkaSettings
from services.shared.temporal import TemporalSettings
from services.shared.topics import TopicSettings

#: Clears a terminal and puts the cursor home, so each refresh redraws the screen in place.
CLEAR_SCREEN = "\x1b[H\x1b[2J"


class StatusSettings(BaseSettings):
    """Endpoints of a mesh ``alertmesh up`` did not start (``ALERTMESH_STATUS_*``): comma-separated
    ``NAME=URL`` items, as ``--health`` and ``--metrics`` take them (the options win)."""

    model_config = SettingsConfigDict(env_prefix="ALERTMESH_STATUS_", extra="ignore")

    health: str = ""
    metrics: str = ""


class TargetError(ValueError):
    """Nothing says where the mesh is, or an endpoint option cannot be read."""


def endpoint_pairs(texts: list[str], option: str) -> dict[str, str]:
    """``NAME=URL`` items (each text may hold several, comma-separated) as a mapping, later ones winning."""
    found: dict[str, str] = {}
    for text in texts:
        for item in filter(None, (piece.strip() for piece in text.split(","))):
            name, sep, url = item.partition("=")
            if not sep or not name or not url.startswith(("http://", "https://")):
                raise TargetError(f"{option} {item!r}: expected NAME=http://host:port/path")
            found[name.strip()] = url.strip()
    return found


@dataclass(frozen=True)
class Where:
    """What the command line and environment say about where the mesh is."""

    state_dir: Path
    health: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()


def build_target(where: Where) -> Target:
    """The parts from ``mesh.json`` (if there is one) with the given endpoints added or replacing theirs."""
    env = StatusSettings()
    health = endpoint_pairs([env.health, *where.health], "--health")
    metrics = endpoint_pairs([env.metrics, *where.metrics], "--metrics")
    path = mesh_file(where.state_dir)
    try:
        state = read_mesh_state(path)
    except FileNotFoundError:
        state = None
    except ValueError as error:
        raise TargetError(f"{path} is not a mesh state file: {error}") from None
    if state is None and not health and not metrics:
        raise TargetError(
            f"no {path}: is `alertmesh up` running with --state-dir {where.state_dir}? For a mesh deployed "
            "another way give --health NAME=URL and --metrics NAME=URL (with KAFKA_* and TEMPORAL_* set)"
        )
    parts = {part.name: part for part in (parts_from_mesh(state) if state else [])}
    for name in [*health, *(name for name in metrics if name not in health)]:
        known = parts.get(name) or PartTarget(name, None, None)
        health_url = health.get(name, known.health_url)
        derived = health_url.removesuffix("/healthz") + "/metrics" if health_url and name not in metrics else None
        parts[name] = PartTarget(
            name, health_url, metrics.get(name) or known.metrics_url or derived, known.pid, known.restarts,
            known.last_exit_code, known.started_at, known.supervised,
        )  # fmt: skip
    kafka = KafkaSettings(bootstrap_servers=state.kafka) if state else KafkaSettings()
    temporal = TemporalSettings(address=state.temporal) if state else TemporalSettings()
    topics = TopicSettings()
    ingest = IngestSettings()
    groups = [
        (ingest.group_id, topics.raw),
        (ingest.decide_group_id, topics.routed),
        (OrchestratorSettings().group_id, topics.triggers),
    ]
    return Target(list(parts.values()), kafka, temporal, groups, topics.results, topics.dlq)


async def run(where: Where, *, watch: bool, interval_s: float, as_json: bool, out: TextIO) -> int:
    """Report once (exit 1 when a part is down), or every ``interval_s`` until interrupted (``watch``)."""
    terminal = out.isatty()
    target = build_target(where)
    sources = Sources(target)
    noise = NoiseReader(target, TopicSettings())
    try:
        before = {}
        if not watch:  # the rates need two readings: take the first, wait, then report
            before = await sources.counters()
            await asyncio.sleep(interval_s)
        while True:
            snapshot = await sources.snapshot()
            muted = await noise.read(snapshot.taken_at)
            if as_json:
                report = status_render.as_json(snapshot, before) | {"noise": noise_json(muted)}
                out.write(escape_json(orjson.dumps(report).decode()) + "\n")
            else:
                screen = status_render.text(snapshot, before, shutil.get_terminal_size().columns)
                screen += "\n" + noise_text(muted)
                out.write((CLEAR_SCREEN if watch and terminal else "") + screen + ("\n" if watch else ""))
            out.flush()
            if not watch:
                return 0 if status_render.healthy(snapshot) else 1
            before = {part.target.name: part.counters for part in snapshot.parts if part.counters is not None}
            await asyncio.sleep(interval_s)
            sources.target = build_target(where)  # restarts and pids change: read mesh.json again
    finally:
        await noise.close()
        await sources.close()


def main(where: Where, *, watch: bool, interval_s: float, as_json: bool) -> int:
    """The command: 2 when it cannot tell where the mesh is; Ctrl-C ends ``--watch`` normally (0)."""
    try:
        return asyncio.run(run(where, watch=watch, interval_s=interval_s, as_json=as_json, out=sys.stdout))
    except TargetError as error:
        print(f"alertmesh status: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
