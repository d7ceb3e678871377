"""``mesh.json``: written atomically from a real supervisor's children, kept current across a crash and restart."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alertmesh.stack import supervisor
from alertmesh.stack.mesh import MeshSettings, plan
from alertmesh.stack.state import MeshState, read_mesh_state, recorder, write_mesh_state
from alertmesh.stack.supervisor import Supervisor


def file_exists(path: Path) -> supervisor.Probe:
    async def probe() -> bool:
        return path.exists()

    return probe


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mesh.json"
    state = MeshState(started_at=datetime.now(UTC), kafka="k:1", temporal="t:2", webhook_url="http://w", parts={})
    write_mesh_state(path, state)
    before = path.stat().st_ino
    write_mesh_state(path, state.model_copy(update={"kafka": "k:9"}))
    assert read_mesh_state(path).kafka == "k:9"
    assert [p.name for p in tmp_path.iterdir()] == ["mesh.json"]
    # Replaced by a rename (a new file), never rewritten in place: a reader holding the old file reads it whole.
    assert path.stat().st_ino != before
    # A write that fails half-way leaves the previous file as it was, and no temporary file.
    written = path.read_bytes()

    def broken(self: MeshState, **kwargs: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(MeshState, "model_dump_json", broken)
    with pytest.raises(OSError, match="disk full"):
        write_mesh_state(path, state)
    assert path.read_bytes() == written
    assert [p.name for p in tmp_path.iterdir()] == ["mesh.json"]


async def test_the_supervisor_keeps_restarts_exit_code_and_pid_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor, "RESTART_BACKOFF", dataclasses.replace(supervisor.RESTART_BACKOFF, initial_s=0.1))
    mesh = plan(MeshSettings(state_dir=tmp_path))
    counter, marker, path = tmp_path / "starts", tmp_path / "ready", tmp_path / "mesh.json"
    code = (
        "import pathlib, sys, time\n"
        f"starts = pathlib.Path({str(counter)!r}); starts.open('a').write('x')\n"
        f"marker = pathlib.Path({str(marker)!r}); marker.touch()\n"
        "if len(starts.read_text()) == 1: time.sleep(0.3); marker.unlink(); sys.exit(7)\n"
        "time.sleep(60)\n"
    )
    # The ingest part's name, so its health and metrics URLs come from the plan.
    ingest = dataclasses.replace(mesh.services[0], command=[sys.executable, "-c", code], ready=file_exists(marker))
    sup = Supervisor(output=lambda name, line: None)
    sup.on_change = recorder(path, mesh, lambda: sup.children, datetime.now(UTC))
    await sup.start_stage([ingest])
    try:
        first = read_mesh_state(path).parts["ingest"]
        assert first.pid is not None and first.restarts == 0 and first.last_exit_code is None
        for _ in range(100):
            part = read_mesh_state(path).parts["ingest"]
            if part.restarts == 1 and part.pid is not None:
                break
            await asyncio.sleep(0.1)
        assert part.restarts == 1 and part.last_exit_code == 7
        assert part.pid == sup.children[0].pid != first.pid
        assert part.started_at is not None and first.started_at is not None and part.started_at > first.started_at
        assert part.health_url == f"{mesh.http_urls['ingest']}/healthz"
        assert part.metrics_url == f"{mesh.http_urls['ingest']}/metrics"
    finally:
        await sup.stop()
    assert read_mesh_state(path).parts["ingest"].pid is None  # stopped: nothing runs
