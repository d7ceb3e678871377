"""The bench's phases show their progress on stderr and leave stdout (where the JSON summary goes) alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from alertmesh.views import progress
from bench import e2e
from bench.payloads import BenchAlert, bench_alerts


class FakeDriver:
    """Each submitted alert completes ``delay_s`` later."""

    system: e2e.System = "mesh"

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    async def submit(self, alert: BenchAlert, workflow: str) -> Callable[[], float | None]:
        done_at = time.monotonic() + self.delay_s

        def probe() -> float | None:
            return done_at if time.monotonic() >= done_at else None

        return probe

    async def settle(self) -> None:
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def frequent_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.02)


async def test_burst_progress_counts_results_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    phase = await e2e.burst(FakeDriver(0.2), bench_alerts("t", "triage", 5), "triage", timeout_s=5)
    assert phase.completed == 5
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[-1].startswith("mesh triage burst: 5/5 (100%), results")
    assert any(line.startswith("mesh triage burst: 0/5 (0%)") for line in lines)  # before any result arrived


async def test_offered_load_and_sequential_show_progress(capsys: pytest.CaptureFixture[str]) -> None:
    alerts = bench_alerts("t", "single", 4)
    phase = await e2e.offered_load(FakeDriver(0.05), alerts, "single", 40, timeout_s=5, max_outstanding=10)
    done = await e2e.sequential(FakeDriver(0.03), bench_alerts("u", "single", 3), "single", timeout_s=5)
    assert phase.completed == 4 and all(at is not None for at in done)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "mesh single at 40/s: 4/4 (100%)" in captured.err
    assert "mesh single one at a time: 3/3 (100%)" in captured.err
