"""The chaos run's state directory: routing and workflow files written at run time, and where things land."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from alertmesh.stack.local import StateDir

#: The route every chaos alert takes, and the workflow it starts.
WORKFLOW = "chaos"
ACTION_MODULE = "alertmesh.chaos.actions"

_ROUTING = """\
# Written by `alertmesh chaos`: every firing alert runs the chaos workflow.
routes:
  - name: chaos
    match:
      status: firing
    workflow: chaos
"""

_WORKFLOW = """\
# Written by `alertmesh chaos`: an action with a side effect that takes a moment (so a Ray worker is busy with
# it when the harness kills one), then a pure one that depends on it.
name: chaos
description: Record each run of the side-effect action, then summarize.
actions:
  - ref: record
    action: chaos.record_run
    args:
      file: {side_effects}
      workflow_id: ${{{{ TRIGGER.idempotency_key }}}}
      seconds: {action_seconds}
  - ref: summary
    action: core.transform.reshape
    depends_on: [record]
    args:
      value:
        alert: ${{{{ TRIGGER.alert.name }}}}
        pid: ${{{{ ACTIONS.record.result.pid }}}}
returns: ${{{{ ACTIONS.summary.result }}}}
"""


@dataclass(frozen=True)
class Workspace(StateDir):
    """The state directory of one chaos run, with the side-effect action's file."""

    @property
    def side_effects(self) -> Path:
        """The file ``chaos.record_run`` appends a line to on every run."""
        return self.state_dir / "side-effects.log"

    def write(self, action_seconds: float) -> None:
        """Write the routing rules and the chaos workflow (the services read them at start)."""
        self.workflows_dir.mkdir(parents=True, exist_ok=True)
        self.routing_file.write_text(_ROUTING)
        text = _WORKFLOW.format(
            side_effects=json.dumps(str(self.side_effects.resolve())), action_seconds=action_seconds
        )
        (self.workflows_dir / f"{WORKFLOW}.yaml").write_text(text)
