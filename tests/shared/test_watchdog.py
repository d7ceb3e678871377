"""The shared watchdog: when a part counts as dead, what /healthz says meanwhile, and how a service stops."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from services.shared.watchdog import Vital, Watchdog, exit_dead, task_alive, until_stopped_or_dead


class Flaky:
    """A check whose answer the test sets."""

    def __init__(self) -> None:
        self.problem: str | None = None

    async def __call__(self) -> str | None:
        return self.problem


async def always_healthy() -> bool:
    return True


async def test_a_part_is_dead_only_at_its_second_failed_check_and_503_from_the_first() -> None:
    part = Flaky()
    watchdog = Watchdog([Vital("part", part)])
    probe = watchdog.guard(always_healthy)
    await watchdog.check_once()
    assert await probe()
    part.problem = "gone"
    await watchdog.check_once()
    assert watchdog.death is None
    assert not await probe(), "unhealthy as soon as a check fails"
    await watchdog.check_once()
    assert watchdog.death == "part: gone"
    assert not await probe()


async def test_a_part_that_recovers_within_its_grace_is_healthy_again() -> None:
    part = Flaky()
    watchdog = Watchdog([Vital("member", part, grace_s=60)])
    part.problem = "rebalancing"
    for _ in range(3):
        await watchdog.check_once()
    assert watchdog.death is None
    part.problem = None
    await watchdog.check_once()
    assert await watchdog.guard(always_healthy)()


async def test_a_hung_or_raising_check_counts_as_failed() -> None:
    async def hangs() -> str | None:
        await asyncio.sleep(3600)
        return None

    async def raises() -> str | None:
        raise RuntimeError("boom")

    for check, words in ((hangs, "no answer within"), (raises, "check failed: RuntimeError('boom')")):
        watchdog = Watchdog([Vital("p", check, timeout_s=0.05)])
        await watchdog.check_once()
        await watchdog.check_once()
        assert watchdog.death is not None and words in watchdog.death


async def test_task_alive_reports_how_a_task_ended() -> None:
    async def fails() -> None:
        raise ValueError("bad")

    running = asyncio.create_task(asyncio.sleep(3600))
    failed = asyncio.create_task(fails())
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.wait([failed, finished])
    assert await task_alive(lambda: running)() is None
    assert await task_alive(lambda: failed)() == "ended (ValueError('bad'))"
    assert await task_alive(lambda: finished)() == "ended"
    assert await task_alive(lambda: None)() == "not started"
    running.cancel()


async def test_until_stopped_or_dead_returns_none_on_a_stop_and_the_reason_on_a_death() -> None:
    stop = asyncio.Event()
    stop.set()
    assert await until_stopped_or_dead(stop, Watchdog([Vital("p", Flaky())])) is None
    part = Flaky()
    part.problem = "ended"
    death = await until_stopped_or_dead(asyncio.Event(), Watchdog([Vital("worker", part)], interval_s=0.01))
    assert death == "worker: ended"


def test_exit_dead_ends_the_process_with_a_message() -> None:
    with pytest.raises(SystemExit) as exited:
        exit_dead("svc", "worker: ended")
    assert exited.value.code == "svc: exiting because an inner part died: worker: ended"  # status 1


def run_process_status(body: str) -> subprocess.CompletedProcess[str]:
    code = f"from services.shared.watchdog import run_process\ndef main():\n{body}\nrun_process(main)\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("body", "status", "stderr"),
    [
        ("    print('done')", 0, ""),
        ("    raise SystemExit('svc: exiting because an inner part died: x')", 1, "inner part died: x"),
        ("    raise SystemExit(3)", 3, ""),
        ("    raise RuntimeError('boom')", 1, "RuntimeError: boom"),
    ],
)
def test_run_process_ends_with_the_services_status(body: str, status: int, stderr: str) -> None:
    done = run_process_status(body)
    assert done.returncode == status, done.stderr
    assert stderr in done.stderr
