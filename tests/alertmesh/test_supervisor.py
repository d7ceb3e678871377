"""The supervisor with real (tiny) child processes: readiness, restart with backoff, clean stop."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from alertmesh.stack import supervisor
from alertmesh.stack.supervisor import Part, StartupError, Supervisor
from tests.e2e.mesh_process import alive


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def file_exists(path: Path) -> supervisor.Probe:
    async def probe() -> bool:
        return path.exists()

    return probe


async def test_a_stage_is_ready_when_every_probe_says_so(tmp_path: Path) -> None:
    marker = tmp_path / "ready"
    lines: list[tuple[str, str]] = []
    sup = Supervisor(output=lambda name, line: lines.append((name, line)))
    code = f"import pathlib, time; print('hello', flush=True); pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"
    await sup.start_stage([Part("child", python(code), file_exists(marker))])
    try:
        assert marker.exists()
        await asyncio.sleep(0.2)
        assert ("child", "hello") in lines  # output is relayed, prefixed by the part's name
    finally:
        await sup.stop()
    assert sup.children[0]._process is not None and sup.children[0]._process.returncode is not None


async def test_a_child_that_exits_while_starting_fails_the_start() -> None:
    sup = Supervisor(output=lambda name, line: None)
    never = file_exists(Path("/nonexistent/never"))
    with pytest.raises(StartupError, match="exited with code 3 while starting"):
        await sup.start_stage([Part("broken", python("raise SystemExit(3)"), never, ready_timeout_s=10)])
    await sup.stop()


async def test_a_crashed_child_is_restarted_with_backoff_and_made_ready_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(supervisor, "RESTART_BACKOFF", replace(supervisor.RESTART_BACKOFF, initial_s=0.1))
    counter, marker = tmp_path / "starts", tmp_path / "ready"
    # Each start appends to a file; the first run crashes once it is ready, later runs stay up.
    code = (
        "import pathlib, sys, time\n"
        f"starts = pathlib.Path({str(counter)!r}); starts.open('a').write('x')\n"
        f"marker = pathlib.Path({str(marker)!r}); marker.touch()\n"
        "if len(starts.read_text()) == 1: time.sleep(0.3); marker.unlink(); sys.exit(7)\n"
        "time.sleep(60)\n"
    )
    ready_again: list[int] = []

    async def after_ready() -> None:
        ready_again.append(len(counter.read_text()))

    sup = Supervisor(output=lambda name, line: None)
    caplog.set_level(logging.INFO, logger="alertmesh")
    await sup.start_stage([Part("flaky", python(code), file_exists(marker), after_ready=after_ready)])
    try:
        for _ in range(100):
            if ready_again == [1, 2]:
                break
            await asyncio.sleep(0.1)
        assert ready_again == [1, 2]  # the after-ready step ran after the start and after the restart
        assert sup.children[0].restarts == 1
        assert "flaky exited with code 7; restart #1 in 0.1s" in caplog.text
        assert "flaky is ready again" in caplog.text
    finally:
        await sup.stop()


def test_restart_delays_double_from_a_second_up_to_half_a_minute_and_never_run_out() -> None:
    delays = supervisor.RESTART_BACKOFF.delays()
    assert [next(delays) for _ in range(8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert supervisor.RESTART_BACKOFF.budget_s is None
    assert next(supervisor.RESTART_BACKOFF.delays()) == 1.0  # a fresh schedule starts over


def _restart_delays(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    prefix = f"{name} exited with code "
    return [r.getMessage().rsplit(" in ", 1)[1] for r in caplog.records if r.getMessage().startswith(prefix)]


async def _wait_restarts(child: supervisor.Child, count: int) -> None:
    for _ in range(200):
        if child.restarts >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {child.restarts} restarts of {child.part.name}")


async def test_a_child_ready_again_after_a_restart_starts_its_backoff_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Killed every so often (as the chaos harness does), a child that recovered each time must come back after the
    # first delay every time, not after a delay that doubled with every kill.
    monkeypatch.setattr(supervisor, "RESTART_BACKOFF", replace(supervisor.RESTART_BACKOFF, initial_s=0.1))
    marker = tmp_path / "ready"
    code = (
        "import pathlib, sys, time\n"
        f"marker = pathlib.Path({str(marker)!r}); marker.touch()\n"
        "time.sleep(0.5); marker.unlink(); sys.exit(9)\n"
    )
    sup = Supervisor(output=lambda name, line: None)
    caplog.set_level(logging.INFO, logger="alertmesh")
    await sup.start_stage([Part("recovers", python(code), file_exists(marker))])
    try:
        await _wait_restarts(sup.children[0], 3)
    finally:
        await sup.stop()
    assert _restart_delays(caplog, "recovers")[:3] == ["0.1s", "0.1s", "0.1s"]


async def test_a_child_that_crashes_before_it_is_ready_keeps_backing_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(supervisor, "RESTART_BACKOFF", replace(supervisor.RESTART_BACKOFF, initial_s=0.1))
    counter, marker = tmp_path / "starts", tmp_path / "ready"
    # The first run becomes ready and then crashes; every restart crashes before it is ready.
    code = (
        "import pathlib, sys, time\n"
        f"starts = pathlib.Path({str(counter)!r}); starts.open('a').write('x')\n"
        "if len(starts.read_text()) > 1: sys.exit(5)\n"
        f"marker = pathlib.Path({str(marker)!r}); marker.touch()\n"
        "time.sleep(0.3); marker.unlink(); sys.exit(7)\n"
    )
    sup = Supervisor(output=lambda name, line: None)
    caplog.set_level(logging.INFO, logger="alertmesh")
    await sup.start_stage([Part("crashloop", python(code), file_exists(marker), ready_timeout_s=10)])
    try:
        await _wait_restarts(sup.children[0], 4)
    finally:
        await sup.stop()
    assert _restart_delays(caplog, "crashloop")[:4] == ["0.1s", "0.2s", "0.4s", "0.8s"]


async def test_stop_ends_the_childs_whole_process_group(tmp_path: Path) -> None:
    pid_file, marker = tmp_path / "grandchild", tmp_path / "ready"
    # The child starts a grandchild that ignores nothing and outlives it unless its group is killed.
    code = (
        "import pathlib, signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
        "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(g.pid))\n"
        f"pathlib.Path({str(marker)!r}).touch()\n"
        "time.sleep(120)\n"
    )
    sup = Supervisor(output=lambda name, line: None)
    await sup.start_stage([Part("parent", python(code), file_exists(marker))])
    grandchild = int(pid_file.read_text())
    await sup.stop()
    await asyncio.sleep(0.2)
    assert not alive(grandchild)


async def test_a_part_creates_its_files_with_the_umask_it_is_given(tmp_path: Path) -> None:
    made = {umask: tmp_path / f"made-{umask}" for umask in (0o077, 0o002)}
    sup = Supervisor(output=lambda name, line: None)
    parts = [
        Part(
            f"child-{umask:o}",
            python(
                f"import os, time; os.mkdir({str(path)!r}); open({str(path)!r} + '/f', 'w').close(); time.sleep(60)"
            ),
            file_exists(path / "f"),
            umask=umask,
        )
        for umask, path in made.items()
    ]
    old = os.umask(0o022)  # the supervisor's own: neither child may get it
    try:
        await sup.start_stage(parts)
    finally:
        os.umask(old)
        await sup.stop()
    assert stat.S_IMODE(made[0o077].stat().st_mode) == 0o700
    assert stat.S_IMODE((made[0o077] / "f").stat().st_mode) == 0o600
    assert stat.S_IMODE(made[0o002].stat().st_mode) == 0o775
    assert stat.S_IMODE((made[0o002] / "f").stat().st_mode) == 0o664
