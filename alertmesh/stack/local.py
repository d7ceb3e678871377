"""The embedded mesh started in-process on free ports, as ``alertmesh up`` would run it (``alertmesh.stack.mesh.plan``),
for the harnesses that drive it (``alertmesh chaos``, ``alertmesh bench``): their own routing and workflows, extra
environment per service, and the parts' output in a log file instead of on the console."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from alertmesh.stack.embedded import free_port
from alertmesh.stack.mesh import MeshPlan, MeshSettings, ensure_webhook_key, plan, prepare_private_dirs
from alertmesh.stack.part_logs import LOGS_DIR_NAME, PartLogs
from alertmesh.stack.replicas import service_of
from alertmesh.stack.state import mesh_file, recorder
from alertmesh.stack.supervisor import Child, Supervisor


@dataclass
class LocalStack:
    """A running mesh: its plan (addresses) and supervisor (children)."""

    mesh: MeshPlan
    supervisor: Supervisor

    def child(self, name: str) -> Child:
        """The newest child running part ``name`` (a part restarted in a later stage replaces the earlier one)."""
        return [child for child in self.supervisor.children if child.part.name == name][-1]

    def replicas(self, service: str) -> list[Child]:
        """Every replica's child of ``service`` (``ingest``, ``ingest-2``, ...), or of any other part by its name."""
        return [child for child in self.supervisor.children if service_of(child.part.name) == service]


@dataclass(frozen=True)
class StateDir:
    """A harness run's state directory: Temporal's database, the routing rules and workflows the harness writes
    for its run, and the parts' output."""

    state_dir: Path

    @property
    def routing_file(self) -> Path:
        """The routing rules the harness writes for its run (ingest's routing file)."""
        return self.state_dir / "routing.yaml"

    @property
    def workflows_dir(self) -> Path:
        """The folder of the workflows the harness writes for its run."""
        return self.state_dir / "workflows"

    @property
    def mesh_log(self) -> Path:
        """Where every part's output goes, one line per output line, prefixed with the part's name."""
        return self.state_dir / "mesh.log"


def local_settings(state: StateDir) -> MeshSettings:
    """Settings for a private mesh: free ports, embedded servers only (a harness stops or kills its own servers,
    so it is never pointed at shared ones)."""
    return MeshSettings(
        state_dir=state.state_dir,
        kafka_port=free_port(),
        temporal_port=free_port(),
        temporal_ui_port=free_port(),
        webhook_port=free_port(),
        routing_file=state.routing_file,
        workflows_dir=state.workflows_dir,
        external_kafka=None,
        external_temporal=None,
    )


@contextlib.asynccontextmanager
async def running_local_stack(
    settings: MeshSettings, log_file: Path, service_env: Mapping[str, Mapping[str, str]] | None = None
) -> AsyncIterator[LocalStack]:
    """Start the servers, then the services (with ``service_env[name]`` added to service ``name``'s environment);
    stop them all after. As ``alertmesh up`` does: a private state dir (and Ray's temp dir and token), and a webhook
    key kept in it."""
    prepare_private_dirs(settings)
    ensure_webhook_key(settings)
    mesh = plan(settings)
    extra = service_env or {}
    # Every replica of a service gets its extra environment.
    services = [dataclasses.replace(p, env={**p.env, **extra.get(service_of(p.name), {})}) for p in mesh.services]
    with log_file.open("a", encoding="utf-8") as log:
        # mesh.log has every part's lines in order; logs/<part>.log each replica's own.
        logs = PartLogs(settings.state_dir.resolve() / LOGS_DIR_NAME)
        supervisor = Supervisor(output=logs.tee(_writer(log)))
        # mesh.json in the run's state dir, as `up` writes it: `alertmesh status --state-dir` follows the run.
        at = datetime.now(UTC)
        supervisor.on_change = recorder(mesh_file(settings.state_dir.resolve()), mesh, lambda: supervisor.children, at)
        try:
            await supervisor.start_stage(mesh.servers)
            for stage in mesh.ray_stages:
                await supervisor.start_stage(stage)
            await supervisor.start_stage(services)
            yield LocalStack(dataclasses.replace(mesh, services=services), supervisor)
        finally:
            await supervisor.stop()
            logs.close()


def _writer(log: TextIO) -> Callable[[str, str], None]:
    def write(name: str, line: str) -> None:
        log.write(f"{name:<13}| {line}\n")
        log.flush()

    return write
