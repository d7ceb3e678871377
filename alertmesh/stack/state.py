"""``<state-dir>/mesh.json``: what ``alertmesh up`` runs and where, kept current by the supervisor, so that
``alertmesh status`` (and ``alertmesh trace``'s Temporal UI link) find a running mesh without being told."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from alertmesh.stack.mesh import MeshPlan
    from alertmesh.stack.supervisor import Child, OnChange

MESH_FILE_NAME = "mesh.json"


class PartState(BaseModel):
    """One supervised part. ``pid`` is None while it is not running (between a crash and its restart, or after
    ``up`` stopped); ``last_exit_code`` is that of its latest unplanned exit."""

    model_config = ConfigDict(extra="ignore")

    pid: int | None = None
    restarts: int = 0
    started_at: datetime | None = None
    last_exit_code: int | None = None
    health_url: str | None = None
    metrics_url: str | None = None


class MeshState(BaseModel):
    """The whole file: the mesh's addresses and its parts by name."""

    model_config = ConfigDict(extra="ignore")

    started_at: datetime
    kafka: str
    temporal: str
    temporal_ui: str | None = None
    webhook_url: str
    parts: dict[str, PartState]


def mesh_file(state_dir: Path) -> Path:
    """Where ``up`` keeps the mesh's state in ``state_dir`` (the file may not exist)."""
    return state_dir / MESH_FILE_NAME


def write_mesh_state(path: Path, state: MeshState) -> None:
    """Replace ``path`` atomically (a temporary file in the same directory, then rename): a reader sees the old
    file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(state.model_dump_json(indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_mesh_state(path: Path) -> MeshState:
    """The file's state; ``FileNotFoundError`` when there is none, ``ValueError`` when it is not a mesh file."""
    return MeshState.model_validate_json(path.read_bytes())


def current_state(plan: MeshPlan, children: list[Child], started_at: datetime) -> MeshState:
    """The state of ``plan``'s parts now; a part restarted in a later stage counts as its newest child."""
    parts: dict[str, PartState] = {}
    for child in children:
        base = plan.http_urls.get(child.part.name)
        parts[child.part.name] = PartState(
            pid=child.pid if child.running else None,
            restarts=child.restarts,
            started_at=child.started_at,
            last_exit_code=child.exit_codes[-1] if child.exit_codes else None,
            health_url=f"{base}/healthz" if base else None,
            metrics_url=f"{base}/metrics" if base else None,
        )
    return MeshState(
        started_at=started_at,
        kafka=plan.kafka_bootstrap,
        temporal=plan.temporal_address,
        temporal_ui=plan.temporal_ui,
        webhook_url=plan.webhook_url,
        parts=parts,
    )


def recorder(path: Path, plan: MeshPlan, children: Callable[[], list[Child]], started_at: datetime) -> OnChange:
    """A supervisor ``on_change`` that rewrites ``path`` with the parts' current state."""

    def record() -> None:
        write_mesh_state(path, current_state(plan, children(), started_at))

    return record
