"""The embedded mesh, started in-process for a chaos run: the Supervisor's children (and their pids) are the
targets, their readiness probes tell when a killed part is back."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from alertmesh.chaos.workspace import ACTION_MODULE, Workspace
from alertmesh.stack.local import LocalStack, local_settings, running_local_stack


@dataclass
class Stack(LocalStack):
    """A running mesh with the chaos run's workspace."""

    workspace: Workspace


@contextlib.asynccontextmanager
async def running_stack(
    workspace: Workspace, action_seconds: float, replicas: dict[str, int] | None = None, ray_nodes: int = 0
) -> AsyncIterator[Stack]:
    """Start the servers and services on free ports with the chaos routing and workflow; stop them all after.
    ``replicas`` processes per service and a Ray cluster of ``ray_nodes`` nodes, as ``up --replicas --ray-nodes``.
    The parts' output goes to ``mesh.log`` in the state directory, not to the console."""
    workspace.write(action_seconds)
    settings = local_settings(workspace).model_copy(update={"replicas": replicas or {}, "ray_nodes": ray_nodes})
    # The orchestrator checks the workflow's actions against the same registry when it loads it.
    modules = {"EXECUTOR_ACTION_MODULES": ACTION_MODULE}
    service_env = {"executor": modules, "orchestrator": modules}
    async with running_local_stack(settings, workspace.mesh_log, service_env) as local:
        yield Stack(local.mesh, local.supervisor, workspace)
