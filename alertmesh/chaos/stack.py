"""The embedded mesh, started in-process for a chaos run: the Supervisor's children (and their pids) are the
targets, their readiness probes tell when a killed part is back."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TextIO

from alertmesh.chaos.workspace import ACTION_MODULE, Workspace
from alertmesh.embedded import free_port
from alertmesh.mesh import MeshPlan, MeshSettings, ensure_webhook_key, plan, prepare_state_dir
from alertmesh.supervisor import Child, Part, Supervisor


@dataclass
class Stack:
    """A running mesh: its plan (addresses) and supervisor (children)."""

    mesh: MeshPlan
    supervisor: Supervisor
    workspace: Workspace

    def child(self, name: str) -> Child:
        return next(child for child in self.supervisor.children if child.part.name == name)


def _with_chaos_actions(part: Part) -> Part:
    if part.name != "executor":
        return part
    return dataclasses.replace(part, env={**part.env, "EXECUTOR_ACTION_MODULES": ACTION_MODULE})


@contextlib.asynccontextmanager
async def running_stack(workspace: Workspace, action_seconds: float) -> AsyncIterator[Stack]:
    """Start the servers and services on free ports with the chaos routing and workflow; stop them all after.
    The parts' output goes to ``mesh.log`` in the state directory, not to the console."""
    workspace.write(action_seconds)
    settings = MeshSettings(
        state_dir=workspace.state_dir,
        kafka_port=free_port(),
        temporal_port=free_port(),
        temporal_ui_port=free_port(),
        webhook_port=free_port(),
        routing_file=workspace.routing_file,
        workflows_dir=workspace.workflows_dir,
        external_kafka=None,  # the chaos run kills and stops its own servers: never point it at shared ones
        external_temporal=None,
    )
    # As ``alertmesh up`` does: a private state dir, and a webhook key the load generator reads from it.
    prepare_state_dir(workspace.state_dir)
    ensure_webhook_key(settings)
    mesh = plan(settings)
    with workspace.mesh_log.open("a", encoding="utf-8") as log:
        supervisor = Supervisor(output=_writer(log))
        try:
            await supervisor.start_stage(mesh.servers)
            await supervisor.start_stage([_with_chaos_actions(part) for part in mesh.services])
            yield Stack(mesh, supervisor, workspace)
        finally:
            await supervisor.stop()


def _writer(log: TextIO) -> Callable[[str, str], None]:
    def write(name: str, line: str) -> None:
        log.write(f"{name:<13}| {line}\n")
        log.flush()

    return write
