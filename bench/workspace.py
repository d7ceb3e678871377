"""The bench run's state directory: routing rules and workflows written at run time, and where things land."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from alertmesh.stack.local import StateDir
from services.orchestrator.defaults import WORKFLOWS_DIR

#: The demo workflows: the bench runs ``triage`` exactly as shipped.
REPO_WORKFLOWS = WORKFLOWS_DIR

#: Workflow names, and the label value (``labels.bench``) that routes a bench alert to each.
TRIAGE = "triage"
SINGLE = "bench-single"
FANOUT = "bench-fanout32"
FANOUT_WIDTH = 32
#: The ingest phase measures ingest alone: its triggers name a workflow the orchestrator does not have, so they end
#: as dead letters (cheap) instead of thousands of workflow runs after the phase.
INGEST_ONLY = "bench-ingest-only"
ROUTES = {"triage": TRIAGE, "single": SINGLE, "fanout": FANOUT, "ingest": INGEST_ONLY}

_ROUTING_HEAD = """\
# Written by `alertmesh bench`: each bench alert names its workflow in the label `bench`.
routes:
"""

_ROUTE = """\
  - name: bench-{label}
    match:
      labels.bench: {label}
      status: firing
    workflow: {workflow}
    inputs:
      team: on-call
      page: false
"""

_SINGLE = """\
# Written by `alertmesh bench`: one trivial action (the unit of dispatch cost).
name: bench-single
description: One reshape of the alert's name.
actions:
  - ref: only
    action: core.transform.reshape
    args:
      value:
        alert: ${{ TRIGGER.alert.name }}
returns: ${{ ACTIONS.only.result }}
"""

_FANOUT_ACTION = """\
  - ref: a{n:02d}
    action: core.transform.reshape
    args:
      value:
        branch: {n}
        alert: ${{{{ TRIGGER.alert.name }}}}
"""


def fanout_workflow(width: int = FANOUT_WIDTH) -> str:
    """``width`` independent reshape actions (no depends_on: the engine may run them all at once)."""
    head = (
        "# Written by `alertmesh bench`: independent actions, to compare with one action's wall time.\n"
        f"name: {FANOUT}\ndescription: {width} independent reshapes of the alert's name.\nactions:\n"
    )
    return head + "".join(_FANOUT_ACTION.format(n=n) for n in range(width)) + "returns: ${{ ACTIONS.a00.result }}\n"


@dataclass(frozen=True)
class Workspace(StateDir):
    """The state directory of one bench run."""

    def write(self) -> None:
        """Write the routing rules and the workflows (the services read them at start)."""
        self.workflows_dir.mkdir(parents=True, exist_ok=True)
        routes = "".join(_ROUTE.format(label=label, workflow=workflow) for label, workflow in ROUTES.items())
        self.routing_file.write_text(_ROUTING_HEAD + routes)
        shutil.copy(REPO_WORKFLOWS / f"{TRIAGE}.yaml", self.workflows_dir / f"{TRIAGE}.yaml")
        (self.workflows_dir / f"{SINGLE}.yaml").write_text(_SINGLE)
        (self.workflows_dir / f"{FANOUT}.yaml").write_text(fanout_workflow())
