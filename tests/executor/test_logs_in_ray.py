"""A Ray task worker logs through alertmesh's handler: its lines carry the trace and correlation ids too, and
never a secret of the step it runs (neither httpx's request lines nor an action's own lines)."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import ray

from services.executor.masking import MASK, masking_step
from services.executor.outcome import ActionLimits
from services.executor.ray_runner import RayRunner
from services.shared.egress import EgressPolicy

from .leaks import files_under, leaks, secret_forms

pytestmark = pytest.mark.integration


async def test_ray_worker_lines_carry_the_correlation_id(ray_session: str) -> None:
    outcome = await RayRunner(max_in_flight=1).run("tests.log_line", {"message": "hello", "correlation_id": "c-7"})
    assert outcome.ok, outcome.error_message
    assert outcome.value["handlers"].count("alertmesh-executor") == 1
    assert outcome.value["level"] <= 20  # the actions' own INFO lines show
    assert " executor [- c-7] tests.ray: hello" in outcome.value["line"]
    # ... but not the libraries that log request lines (httpx: every URL, its query included) below WARNING.
    assert all(level >= 30 for level in outcome.value["quiet"].values()), outcome.value["quiet"]


def _ray_logs() -> Path:
    return Path(ray._private.worker._global_node.get_logs_dir_path())


async def test_no_ray_log_file_holds_a_secret_in_any_form(ray_session: str, http_base_url: str) -> None:
    # '+', '/', '=', a space and an accent: each is written differently by URL quoting, JSON, repr and base64.
    secret = f"s3cr3t+K3y/{uuid.uuid4().hex} é=="
    runner = RayRunner(max_in_flight=1, limits=ActionLimits(egress=EgressPolicy.parse("127.0.0.1/32")))
    request = {
        "url": f"{http_base_url}/echo?token={quote(secret, safe='')}",
        "method": "POST",
        "params": {"key": secret},
        "headers": {"Authorization": f"Bearer {quote(secret)}"},
        "json": {"password": secret},
    }
    with masking_step({secret}):
        sent = await runner.run("core.http_request", request)
        # A status error quotes the URL, the secret percent-encoded in its path and query.
        wrong = f"{http_base_url}/fail/{quote(secret, safe='')}?key={quote(secret)}"
        refused = await runner.run("core.http_request", {**request, "url": wrong})
        # A secret read with its file's trailing newline: the HTTP library refuses the header, quoting its bytes.
        bad_header = await runner.run(
            "core.http_request", {"url": http_base_url, "headers": {"X-Key": quote(secret) + "\n"}}
        )
        logged = await runner.run("tests.log_quoting", {"value": secret})
    assert sent.ok, sent.error_message
    assert sent.value["data"]["query"] == {"token": [secret], "key": [secret]}  # really sent (the batch masks results)
    for failed in (refused, bad_header, logged):
        assert not failed.ok and MASK in (failed.error_message or ""), failed.error_message
        assert not [name for name, form in secret_forms(secret).items() if form.decode() in failed.error_message]
    logs = _ray_logs()
    assert files_under([logs]) > 0
    assert leaks([logs], secret) == []
