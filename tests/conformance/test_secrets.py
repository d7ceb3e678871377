"""SECRETS resolve only in the executor and never leave it: the workflow's history, its result and the result
event on Kafka are searched for the secret's bytes; and, for secrets transformed on their way (percent-encoded in
a URL, JSON-escaped, base64, hex, repr of bytes, cut at a message's limit, previewed by an FN error), every file
the executor wrote too (its output, Ray's session logs, the span store), for each form."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.cases import echo, fail, step, workflow
from tests.conformance.harness import Stack, report, statuses
from tests.executor.leaks import files_under, leaks, secret_forms
from tests.executor.local_http import local_http_server

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


@pytest.fixture(scope="module")
def http() -> Iterator[str]:
    """Base URL of a local HTTP server (the suite's executor may reach 127.0.0.1)."""
    with local_http_server() as url:
        yield url


def _transformed_secret_steps(http: str, counter: str) -> list[dict[str, Any]]:
    """Steps that send a secret, or fail quoting it, in each form the mesh and its libraries transform it to."""
    token, long, newline = "${{ SECRETS.vault.TOKEN }}", "${{ SECRETS.vault.LONG }}", "${{ SECRETS.vault.NEWLINE }}"
    request = {
        "method": "POST",
        "params": {"key": token},
        "headers": {"Authorization": "Bearer ${{ FN.urlencode(SECRETS.vault.TOKEN) }}"},
        "json": {"password": token},
    }
    return [
        # Sent in the query (httpx percent-encodes it), a header and the body; the server echoes all of it back.
        step("sent", "core.http_request", {**request, "url": f"{http}/echo?token={token}"}),
        # A status error quoting the URL, the secret percent-encoded in its path and query.
        step("status", "core.http_request", {**request, "url": f"{http}/fail/{token}?key={token}"}),
        step(
            "poll",
            "core.http_poll",
            {"url": f"{http}/counter?name={counter}&done_at=99&key={token}", "until": "false", "max_attempts": 1},
        ),
        # A secret read with a trailing newline: httpx refuses the header, quoting the repr of its bytes.
        step("header", "core.http_request", {"url": f"{http}/echo", "headers": {"X-Key": newline}}),
        # A 64-character secret an FN error would have previewed 56 characters of.
        step("cast", "core.transform.reshape", {"value": "${{ FN.to_int(SECRETS.vault.LONG) }}"}),
        step("upper", "core.transform.reshape", {"value": "${{ FN.to_float(FN.upper(SECRETS.vault.LONG)) }}"}),
        # Messages quoting it JSON-escaped, base64 inside a Basic credential, hex, and cut at the message limit.
        fail("json", "refused ${{ FN.to_json({'token': SECRETS.vault.TOKEN}) }}"),
        fail("basic", "refused Basic ${{ FN.b64encode('user:' + SECRETS.vault.TOKEN) }}"),
        fail("hex", "refused ${{ FN.hex(SECRETS.vault.TOKEN) }}"),
        fail("cut", "${{ FN.repeat('x', 4070) }} " + long),
    ]


async def test_a_secret_transformed_on_its_way_leaks_nowhere(stack: Stack, http: str) -> None:
    tag = uuid.uuid4().hex
    secrets = {
        "TOKEN": f"s3cr3t+K3y/{tag[:12]} é%2B==",
        "LONG": f"L0ng-{tag}{tag[:27]}",  # 64 characters
        "NEWLINE": f"nl-{tag[:16]}+/=\n",
    }
    assert len(secrets["LONG"]) == 64
    handle = await stack.start(
        workflow("secret-forms", _transformed_secret_steps(http, tag), returns="${{ ACTIONS.sent.result }}"),
        secrets={"vault": secrets},
    )
    result = await asyncio.wait_for(handle.result(), timeout=90)
    assert statuses(result) == {
        "sent": "succeeded",
        **{ref: "failed" for ref in ("status", "poll", "header", "cast", "upper", "json", "basic", "hex", "cut")},
    }
    echoed = report(result, "sent").result["data"]
    assert echoed["query"] == {"token": ["***"], "key": ["***"]} and json.loads(echoed["body"]) == {"password": "***"}
    for ref in ("status", "poll", "header", "json", "basic", "hex", "cut"):
        assert "***" in report(result, ref).error.message, (ref, report(result, ref).error.message)
    for ref in ("cast", "upper"):
        assert "not shown: the step read a secret" in report(result, ref).error.message

    files = stack.log_dir.parent
    searched = [files / "executor.log", files / "ray", files / "traces"]
    history = (await stack.client.get_workflow_handle(handle.id).fetch_history()).to_json().encode()
    published = await stack.results_on_topic(handle.id)
    await _spans_written(files / "traces", handle.id)
    assert files_under([files / "ray"]) > 0
    for name, secret in secrets.items():
        for form_name, form in secret_forms(secret).items():
            where = [place for place, data in (("history", history), ("result", result.to_json())) if form in data]
            where += [f"results topic ({form_name})" for record in published if form in record]
            assert not where, (name, form_name, where)
        assert leaks(searched, secret) == [], name
    # The long secret was cut at the message limit: no start of it (8+ characters) is left either.
    cut = report(result, "cut").error.message
    assert not any(secrets["LONG"][:n] in cut for n in range(8, 65))


async def _spans_written(traces: Path, workflow_id: str, timeout: float = 15) -> None:
    """Wait until the run's spans are in the span store (written once a second), so searching it proves something."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(workflow_id.encode() in path.read_bytes() for path in traces.rglob("*") if path.is_file()):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"no span of {workflow_id} in {traces}")
