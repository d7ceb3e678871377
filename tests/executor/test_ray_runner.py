"""Actions through the real Ray runner (one local Ray per test session)."""

from __future__ import annotations

import asyncio

import pytest

from services.executor.outcome import ActionLimits, Outcome
from services.executor.ray_runner import RayRunner
from services.shared.egress import EgressPolicy

pytestmark = pytest.mark.integration

#: The local test server is on loopback, which actions may reach only when allowed.
LOCAL = ActionLimits(egress=EgressPolicy.parse("127.0.0.1/32"))


async def test_action_succeeds_on_ray(ray_session: str, http_base_url: str) -> None:
    runner = RayRunner(max_in_flight=2, limits=LOCAL)
    outcome = await runner.run("core.http_request", {"url": f"{http_base_url}/echo", "params": {"q": "1"}})
    assert outcome.ok and outcome.value["data"]["query"] == {"q": ["1"]}


async def test_action_raising_is_a_failed_outcome(ray_session: str, http_base_url: str) -> None:
    runner = RayRunner(max_in_flight=2, limits=LOCAL)
    outcome = await runner.run("core.http_request", {"url": f"{http_base_url}/fail"})
    assert (outcome.ok, outcome.error_type) == (False, "HTTPStatusError")
    assert "500 Internal Server Error" in (outcome.error_message or "")


async def test_bound_on_in_flight_actions_still_runs_them_all(ray_session: str) -> None:
    runner = RayRunner(max_in_flight=1)
    outcomes = await asyncio.gather(*(runner.run("core.transform.reshape", {"value": i}) for i in range(5)))
    assert outcomes == [Outcome(ok=True, value=i, size=1) for i in range(5)]


async def test_cancelling_the_caller_cancels_the_ray_task(ray_session: str, http_base_url: str) -> None:
    runner = RayRunner(max_in_flight=2, limits=LOCAL)
    # The request's own timeout is past the server's 60 s, so only the cancellation can end it early.
    slow_request = {"url": f"{http_base_url}/slow?seconds=60", "timeout": 120}
    slow = asyncio.create_task(runner.run("core.http_request", slow_request))
    await asyncio.sleep(1.0)  # let the task start on the session's single Ray CPU
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    # With one CPU, this can only run once the slow task has really been stopped, long before its 60 s are up
    # (the bound leaves room for Ray to start a fresh worker process on a loaded machine).
    outcome = await asyncio.wait_for(runner.run("core.transform.reshape", {"value": "next"}), timeout=30)
    assert outcome == Outcome(ok=True, value="next", size=6)
