"""``chaos.record_run``: the chaos workflow's action with a side effect the harness can count.

The executor offers it when ``EXECUTOR_ACTION_MODULES`` lists this module. Each run appends one line (workflow id,
pid, a token unique to the run) to a file *before* it sleeps, so a run that is killed mid-action still leaves its
line; the harness then compares the lines per workflow with the attempts Temporal recorded.
"""

from __future__ import annotations

import os
import time
import uuid

from pydantic import BaseModel, ConfigDict, Field

from services.executor.actions.registry import action


class RecordRunArgs(BaseModel):
    """Arguments of ``chaos.record_run``: the file its lines go to and the workflow id each line starts with."""

    model_config = ConfigDict(extra="forbid")

    file: str
    workflow_id: str
    #: How long the action then takes, so a Ray worker is busy with one when the harness looks for it.
    seconds: float = Field(0.0, ge=0, le=60)


@action("chaos.record_run")
def record_run(args: RecordRunArgs) -> dict[str, object]:
    """Append ``workflow_id<TAB>pid<TAB>token`` to ``file``, then sleep ``seconds``."""
    line = f"{args.workflow_id}\t{os.getpid()}\t{uuid.uuid4().hex}\n"
    # One write() of a short line to an O_APPEND file: concurrent runs never interleave within a line.
    with open(args.file, "a", encoding="utf-8") as out:
        out.write(line)
    time.sleep(args.seconds)
    return {"pid": os.getpid()}


def runs_per_workflow(file: str) -> dict[str, int]:
    """How many times ``record_run`` ran for each workflow id, from its file (empty if it never ran)."""
    counts: dict[str, int] = {}
    if os.path.exists(file):
        with open(file, encoding="utf-8") as lines:
            for line in lines:
                workflow_id = line.split("\t", 1)[0]
                counts[workflow_id] = counts.get(workflow_id, 0) + 1
    return counts
