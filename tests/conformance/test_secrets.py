"""SECRETS resolve only in the executor and never leave it: the workflow's history, its result and the result
event on Kafka are searched for the secret's bytes."""

from __future__ import annotations

import uuid

import pytest

from tests.conformance.cases import echo, fail, workflow
from tests.conformance.harness import Stack, report

pytestmark = pytest.mark.integration


async def assert_nowhere(stack: Stack, workflow_id: str, secret: str) -> None:
    """The secret's bytes are in neither the run's history nor any result event published for it."""
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    assert secret.encode() not in history.to_json().encode()
    assert all(secret.encode() not in record for record in await stack.results_on_topic(workflow_id))


async def test_a_secret_in_an_action_result_is_masked_everywhere(stack: Stack) -> None:
    secret = f"tok-{uuid.uuid4().hex}"
    handle = await stack.start(
        workflow(
            "secret-result",
            [echo("call", {"auth": "Bearer ${{ SECRETS.vendor.API_TOKEN }}", "host": "api.example"})],
            returns="${{ ACTIONS.call.result }}",
        ),
        secrets={"vendor": {"API_TOKEN": secret}},
    )
    result = await handle.result()
    assert result.data.status == "completed", result.data.error
    assert result.data.returns == {"auth": "Bearer ***", "host": "api.example"}
    assert secret.encode() not in result.to_json()
    await assert_nowhere(stack, handle.id, secret)


async def test_a_secret_in_an_error_message_is_masked_everywhere(stack: Stack) -> None:
    secret = f"pw-{uuid.uuid4().hex}"
    handle = await stack.start(
        workflow("secret-error", [fail("login", "login refused for password ${{ SECRETS.vault.PASSWORD }}")]),
        secrets={"vault": {"PASSWORD": secret}},
    )
    result = await handle.result()
    assert result.data.status == "failed"
    login = report(result, "login")
    assert login.error is not None and login.error.message == "login refused for password ***"
    assert secret.encode() not in result.to_json()
    await assert_nowhere(stack, handle.id, secret)


async def test_a_missing_secret_fails_the_action_naming_it(stack: Stack) -> None:
    result = await stack.run(workflow("secret-missing", [echo("call", "${{ SECRETS.nowhere.KEY }}")]))
    assert result.data.status == "failed"
    call = report(result, "call")
    assert call.error is not None and "nowhere" in call.error.message
