"""``core.http_poll`` against the real local HTTP server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.executor.actions import InvalidArguments, get_action
from services.executor.actions.http_poll import PollLimitReached, http_poll
from services.shared.egress import EgressPolicy, using_policy

LOCAL = EgressPolicy.parse("127.0.0.1/32")


async def poll(**raw: Any) -> dict[str, Any]:
    args = get_action("core.http_poll").parse_args(raw)
    with using_policy(LOCAL):
        return await http_poll(args)  # type: ignore[arg-type]


async def test_polls_until_the_condition_holds(http_base_url: str) -> None:
    url = f"{http_base_url}/counter?name={uuid.uuid4()}&done_at=3"
    result = await poll(url=url, until='var.response.data.state == "done"', interval=0.05)
    assert (result["polls"], result["status_code"], result["data"]) == (3, 200, {"count": 3, "state": "done"})


async def test_fails_naming_the_condition_after_the_limit(http_base_url: str) -> None:
    url = f"{http_base_url}/counter?name={uuid.uuid4()}&done_at=100"
    with pytest.raises(PollLimitReached, match=r'`var.response.data.state == "done"` did not hold after 2 calls'):
        await poll(url=url, until='var.response.data.state == "done"', interval=0, max_attempts=2)


@pytest.mark.parametrize(
    ("until", "problem"),
    [("var.response.data ==", "until:"), ("${{ var.response }}", "bare expression")],
)
def test_a_bad_condition_is_refused_before_any_request(until: str, problem: str) -> None:
    with pytest.raises(InvalidArguments, match=problem):
        get_action("core.http_poll").parse_args({"url": "http://x.example", "until": until})
