"""The orchestrator refuses to start with an invalid workflow, and says where every problem is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_orchestrator_exits_non_zero_listing_every_problem(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(
        "name: ok\nactions:\n  - {ref: a, action: core.transform.reshape, args: {value: 1}}\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nactions:\n  - ref: a\n    action: core.transform.reshape\n"
        "    args: {value: '${{ ACTIONS.b.result }}'}\n"
        "  - {ref: b, action: core.nope}\n"
    )
    # Nothing listens on these ports: start-up must stop at the workflows, before connecting to anything.
    env = {
        **os.environ,
        "ORCHESTRATOR_WORKFLOWS_DIR": str(tmp_path),
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.orchestrator"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert done.stderr.splitlines()[-3:] == [
        "orchestrator: cannot start: invalid workflow definitions (2 problems):",
        f"{bad}:5:20: '${{{{ ACTIONS.b.result }}}}' reads 'b', which is not upstream of 'a' (add it to depends_on)",
        f"{bad}:6:22: unknown action 'core.nope' (actions of a package load through the 'alertmesh.actions' entry "
        "points or EXECUTOR_ACTION_MODULES)",
    ]
