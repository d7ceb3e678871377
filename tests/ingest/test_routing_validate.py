"""``alertmesh validate`` on routing files: every problem of the rules, time intervals, inhibition rules and
thresholds at ``file:line:col``, alongside workflows and field maps."""

from __future__ import annotations

import io
from pathlib import Path

from alertmesh.commands.validate import validate
from services.ingest.defaults import ROUTING_FILE
from tests.docs.markdown_files import EXAMPLES

BROKEN = """\
time_intervals:
  - name: office
    time_intervals:
      - times: [{start_time: 17:00, end_time: 09:00}]
        weekdays: [friday:monday]
inhibit_rules:
  - source_matchers: ['alertname="Down"', 'no operator']
    equal: [bad-name]
routes:
  - name: pages
    workflow: page
    mute_time_intervals: [weekends]
    threshold: {occurrences: 1, within: 10x}
"""


def _run(*paths: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = validate(list(paths), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_every_problem_of_a_routing_file_is_printed_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(BROKEN)
    code, out, err = _run(path)
    assert code == 1
    assert [line.removeprefix(str(path)).split(": ")[0] for line in out.splitlines()] == [
        ":4:17", ":5:20", ":7:43", ":8:13", ":13:30", ":13:41",
    ]  # fmt: skip
    assert "start_time must be before end_time" in out and "wraps past saturday" in out
    assert "routes.0.threshold.within: '10x' is not a duration" in out
    assert err == "6 problems in 1 file\n"


def test_an_unknown_interval_is_named_once_the_intervals_are_valid(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    fixed = BROKEN.replace("17:00, end_time: 09:00", "09:00, end_time: 17:00").replace("friday:monday", "monday:friday")
    path.write_text(fixed.replace("occurrences: 1, within: 10x", "occurrences: 3, within: 10m"))
    code, out, _ = _run(path)
    assert code == 1
    assert f"{path}:12:27: routes.0.mute_time_intervals.0: no time interval named 'weekends'" in out
    assert len(out.splitlines()) == 3  # and the inhibition rule's two problems


def test_valid_routing_files_are_counted_with_the_workflows(tmp_path: Path) -> None:
    workflow = tmp_path / "wf.yaml"
    workflow.write_text("name: one\nactions:\n  - ref: a\n    action: core.transform.reshape\n    args: {value: 1}\n")
    code, out, err = _run(ROUTING_FILE, EXAMPLES / "routing" / "noise-control.yaml", workflow)
    assert (code, out, err) == (0, "ok: 1 workflow, 2 routing files\n", "")
    assert _run(EXAMPLES / "routing" / "noise-control.yaml") == (0, "ok: 1 routing file\n", "")
