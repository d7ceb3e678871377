"""``alertmesh validate`` as a user runs it (a subprocess), and the demo workflows staying valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dsl.loader import check_files, workflow_files
from services.executor.catalog import action_catalog
from services.orchestrator.defaults import WORKFLOWS_DIR
from tests.conftest import REPO

GOOD = "name: {name}\nactions:\n  - ref: a\n    action: core.transform.reshape\n    args: {{value: 1}}\n"


def validate(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "alertmesh.cli", "validate", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)


def test_the_demo_workflows_are_valid() -> None:
    report = check_files(workflow_files(WORKFLOWS_DIR), closed=True, catalog=action_catalog)
    assert report.lines == []
    assert "triage" in report.definitions


def test_valid_folder_prints_ok_and_exits_0(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / f"{name}.yaml").write_text(GOOD.format(name=name))
    done = validate(tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok: 2 workflows\n", "")
    assert validate(WORKFLOWS_DIR).returncode == 0


def test_problems_are_printed_as_file_line_col_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nactions:\n  - ref: a\n    action: core.transform.reshape\n    args: {valu: 1}\n"
        "  - {ref: b, action: core.transform.reshape, args: {value: 1}, depends_on: [zz]}\n"
    )
    (tmp_path / "good.yaml").write_text(GOOD.format(name="good"))
    done = validate(tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{bad}:5:11: core.transform.reshape needs arg 'value'",
        f"{bad}:5:12: core.transform.reshape has no arg 'valu' (did you mean 'value'? it takes value)",
        f"{bad}:6:77: depends on unknown ref 'zz'",
    ]
    assert done.stderr == "3 problems in 2 files\n"


def test_files_given_together_are_one_set(tmp_path: Path) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text(GOOD.format(name="parent") + "error_handler: handler\n")
    handler = tmp_path / "handler.yaml"
    handler.write_text(GOOD.format(name="handler"))
    assert validate(parent).returncode == 0  # alone: the folder it runs from is not known
    assert validate(parent, handler).stdout == "ok: 2 workflows\n"
    other = tmp_path / "other.yaml"
    other.write_text(GOOD.format(name="other"))
    done = validate(parent, other)
    assert (done.returncode, done.stdout) == (1, f"{parent}:6:16: no workflow named 'handler' (known: other, parent)\n")


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    done = validate(tmp_path / "absent.yaml")
    assert done.returncode == 2
    assert done.stderr.startswith(f"{tmp_path / 'absent.yaml'}: cannot read it: ")
    assert validate(tmp_path / "absent-dir", WORKFLOWS_DIR).returncode == 2
