"""The HTTP actions inside workflows, against a real local HTTP server: a secret really sent over the wire and
still masked in what comes back, polling until a condition holds, an HTTP error taking the error edge."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conformance.cases import echo, step, workflow
from tests.conformance.harness import Stack, report, statuses
from tests.executor.local_http import local_http_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def http() -> Iterator[str]:
    """Base URL of a local HTTP server (the suite's executor may reach 127.0.0.1)."""
    with local_http_server() as url:
        yield url


async def test_a_secret_sent_in_a_header_reaches_the_server_and_is_masked_in_the_echo(stack: Stack, http: str) -> None:
    secret = f"key-{uuid.uuid4().hex}"
    handle = await stack.start(
        workflow(
            "http-secret",
            [
                step(
                    "call",
                    "core.http_request",
                    {"url": f"{http}/echo", "headers": {"Authorization": "Bearer ${{ SECRETS.intel.API_KEY }}"}},
                )
            ],
            returns="${{ ACTIONS.call.result.data.headers.authorization }}",
        ),
        secrets={"intel": {"API_KEY": secret}},
    )
    result = await handle.result()
    assert result.data.status == "completed", result.data.error
    # The server echoed the header it received: the real key went out, and came back masked.
    assert result.data.returns == "Bearer ***"
    history = await handle.fetch_history()
    assert secret not in history.to_json()
    assert all(secret.encode() not in record for record in await stack.results_on_topic(handle.id))


async def test_http_poll_repeats_until_its_condition_holds(stack: Stack, http: str) -> None:
    name = uuid.uuid4().hex
    result = await stack.run(
        workflow(
            "http-poll",
            [
                step(
                    "poll",
                    "core.http_poll",
                    {
                        "url": f"{http}/counter",
                        "params": {"name": name, "done_at": 3},
                        "until": "var.response.data.state == 'done'",
                        "interval": 0.05,
                    },
                )
            ],
            returns={"polls": "${{ ACTIONS.poll.result.polls }}", "state": "${{ ACTIONS.poll.result.data.state }}"},
        )
    )
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"polls": 3, "state": "done"}


async def test_an_http_error_status_takes_the_error_edge(stack: Stack, http: str) -> None:
    result = await stack.run(
        workflow(
            "http-error-edge",
            [
                step("call", "core.http_request", {"url": f"{http}/fail"}),
                echo("fallback", "service down", depends_on=["call.error"]),
            ],
            returns={"fallback": "${{ ACTIONS.fallback.result }}", "why": "${{ ACTIONS.call.error.type }}"},
        )
    )
    assert result.data.status == "completed", result.data.error
    assert statuses(result) == {"call": "failed", "fallback": "succeeded"}
    assert result.data.returns == {"fallback": "service down", "why": "HTTPStatusError"}
    assert report(result, "call").attempts == 1
