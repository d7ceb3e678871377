"""A Ray task worker logs through alertmesh's handler: its lines carry the trace and correlation ids too."""

from __future__ import annotations

import pytest

from services.executor.ray_runner import RayRunner

pytestmark = pytest.mark.integration


async def test_ray_worker_lines_carry_the_correlation_id(ray_session: str) -> None:
    outcome = await RayRunner(max_in_flight=1).run("tests.log_line", {"message": "hello", "correlation_id": "c-7"})
    assert outcome.ok, outcome.error_message
    assert outcome.value["handlers"].count("alertmesh-executor") == 1
    assert outcome.value["level"] <= 20  # the actions' own INFO lines show
    assert " executor [- c-7] tests.ray: hello" in outcome.value["line"]
