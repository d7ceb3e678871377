"""What BatchRun renders templates with (ENV, VARS, var, SECRETS, stored results) and what it does to an
attempt's outcome before reporting it (retry_until, masking, storing), with an in-process runner."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from schemas.actions import ActionBatch, ActionReport, ActionStep, stored_result
from services.executor.actions import action, is_pure
from services.executor.batch import BatchRun, StepServices
from services.executor.outcome import Outcome, run_captured
from services.executor.secrets import EnvironmentSecrets, FileSecrets
from services.shared.blobs import LocalDirectoryStore, resolve, store_json

SECRET = "s3cr3t-t0ken-value"


class InProcessRunner:
    """The Ray task's capture, in a thread; remembers the args each action got."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Mapping[str, Any]]] = []

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Outcome:
        self.calls.append((name, raw_args))
        return await asyncio.to_thread(run_captured, name, raw_args)


def step(ref: str, action: str = "core.transform.reshape", **fields: Any) -> ActionStep:
    return ActionStep(ref=ref, action=action, timeout_seconds=5, **fields)


def batch(*steps: ActionStep, **fields: Any) -> ActionBatch:
    return ActionBatch(workflow_id="wf-1", correlationid="alert-1", trigger={"n": 3}, steps=list(steps), **fields)


def services(tmp_path: Path | None = None, threshold: int = 1024, **secrets: str) -> StepServices:
    environ = {f"ALERTMESH_SECRET_{name}": value for name, value in secrets.items()}
    store = LocalDirectoryStore(tmp_path) if tmp_path else None
    return StepServices(secrets=EnvironmentSecrets(environ), blobs=store, blob_threshold_bytes=threshold)


async def run(the_batch: ActionBatch, svc: StepServices | None = None) -> list[ActionReport]:
    return await BatchRun(the_batch, InProcessRunner(), is_pure, services=svc or services()).run()


async def test_env_vars_and_the_loop_item_are_readable() -> None:
    value = {"wf": "${{ ENV.workflow }}", "team": "${{ VARS.team }}", "item": "${{ var.host }}-${{ TRIGGER.n }}"}
    items = [step("each", item=i, loop={"host": host}, args={"value": value}) for i, host in enumerate(["a", "b"])]
    reports = await run(batch(*items, env={"workflow": "triage"}, vars={"team": "soc"}))
    assert [(r.ref, r.item, r.result) for r in reports] == [
        ("each", 0, {"wf": "triage", "team": "soc", "item": "a-3"}),
        ("each", 1, {"wf": "triage", "team": "soc", "item": "b-3"}),
    ]


async def test_a_secret_is_rendered_for_the_action_and_masked_in_its_result() -> None:
    runner = InProcessRunner()
    args = {"value": {"header": "Bearer ${{ SECRETS.vt.API_KEY }}", "raw": "${{ SECRETS.vt.API_KEY }}"}}
    svc = services(VT__API_KEY=SECRET)
    [report] = await BatchRun(batch(step("call", args=args)), runner, is_pure, services=svc).run()
    assert runner.calls == [("core.transform.reshape", {"value": {"header": f"Bearer {SECRET}", "raw": SECRET}})]
    assert report.status == "succeeded" and report.result == {"header": "Bearer ***", "raw": "***"}


class EchoArgs(BaseModel):
    value: str


@action("tests.batch.raise_quoting")
def raise_quoting(args: EchoArgs) -> None:
    """Fails with its input inside the message, as many libraries' errors do."""
    raise ValueError(f"upstream refused token={args.value}!")


async def test_a_secret_in_an_error_message_is_masked_also_inside_longer_words() -> None:
    args = {"value": "${{ SECRETS.vt.API_KEY }}"}
    [report] = await run(batch(step("call", "tests.batch.raise_quoting", args=args)), services(VT__API_KEY=SECRET))
    assert report.error is not None and report.error.message == "upstream refused token=***!"


async def test_a_missing_secret_fails_the_step_naming_it_without_running_it() -> None:
    runner = InProcessRunner()
    args = {"value": "${{ SECRETS.vt.API_KEY }}"}
    svc = services(VT__OTHER=SECRET)
    [missing_key] = await BatchRun(batch(step("a", args=args)), runner, is_pure, services=svc).run()
    assert missing_key.error is not None and missing_key.error.type == "SecretNotFound"
    assert missing_key.error.message.startswith("secret 'vt' has no key 'API_KEY': set ALERTMESH_SECRET_VT__API_KEY")
    [missing] = await BatchRun(batch(step("a", args=args)), runner, is_pure, services=services()).run()
    assert missing.error is not None and missing.error.message.startswith("secret 'vt' is not defined")
    assert runner.calls == [] and SECRET not in missing_key.model_dump_json()


async def test_retry_until_fails_an_attempt_whose_result_does_not_meet_it() -> None:
    done = step("poll", args={"value": {"state": "done"}}, retry_until='ACTIONS.poll.result.state == "done"')
    pending = step(
        "poll2", args={"value": {"state": "pending"}}, retry_until='${{ ACTIONS.poll2.result.state == "done" }}'
    )
    ok, failed = await run(batch(done, pending))
    assert ok.status == "succeeded"
    assert failed.status == "failed" and failed.error is not None
    assert (failed.error.type, failed.error.retryable) == ("RetryUntil", False)
    assert failed.error.message.endswith('does not meet retry_until: ${{ ACTIONS.poll2.result.state == "done" }}')
    assert failed.result == {"state": "pending"}  # what the attempt returned, for whoever reads the report


async def test_a_retry_until_that_cannot_be_evaluated_fails_the_attempt() -> None:
    broken = step("p", args={"value": 1}, retry_until="ACTIONS.p.result.missing")
    [report] = await run(batch(broken))
    assert report.error is not None and report.error.type == "TemplateError"
    assert "no key 'missing'" in report.error.message


async def test_a_large_result_is_stored_and_read_through_by_a_follower(tmp_path: Path) -> None:
    big = step("big", args={"value": ["x" * 100] * 50})
    first = step("first", args={"value": "${{ ACTIONS.big.result[0] }}"}, after=["big"])
    small = step("small", args={"value": "tiny"})
    big_report, first_report, small_report = await run(batch(big, first, small), services(tmp_path))
    ref = stored_result(big_report.result)
    assert ref is not None and ref.uri.startswith(tmp_path.resolve().as_uri())
    assert resolve(big_report.result, LocalDirectoryStore(tmp_path)) == ["x" * 100] * 50
    assert (first_report.result, small_report.result) == ("x" * 100, "tiny")


async def test_a_stored_result_from_an_earlier_batch_and_in_a_for_each_list_is_read_through(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    earlier = {"big": store_json({"hosts": ["h1", "h2"]}, store), "loop": [store_json([1, 2], store), 3]}
    reader = step("r", args={"value": ["${{ ACTIONS.big.result.hosts[1] }}", "${{ ACTIONS.loop.result[0][1] }}"]})
    [report] = await run(batch(reader, results=earlier), services(tmp_path))
    assert report.result == ["h2", 2]


async def test_a_forged_stored_reference_is_refused(tmp_path: Path) -> None:
    forged = {"$stored": {"uri": "file:///etc/passwd", "size": 1, "sha256": "0" * 64}}
    reader = step("r", args={"value": "${{ ACTIONS.big.result }}"})
    [report] = await run(batch(reader, results={"big": forged}), services(tmp_path))
    assert report.error is not None and report.error.type == "BlobError"
    assert "is not in this store" in report.error.message


async def test_for_each_reports_are_kept_apart_when_resumed() -> None:
    items = [step("each", item=i, loop={"x": i}, args={"value": "${{ var.x }}"}) for i in range(3)]
    runner = InProcessRunner()
    first = await BatchRun(batch(*items), runner, is_pure).run()
    done = {(r.ref, r.item): r for r in first[:2]}
    resumed = await BatchRun(batch(*items), InProcessRunner(), is_pure, done=done).run()
    assert [(r.item, r.result) for r in resumed] == [(0, 0), (1, 1), (2, 2)]


@pytest.mark.parametrize("threshold", [1024])
async def test_no_store_is_touched_when_nothing_is_large(tmp_path: Path, threshold: int) -> None:
    await run(batch(step("a", args={"value": "small"})), services(tmp_path / "blobs", threshold))
    assert not (tmp_path / "blobs").exists()


async def test_a_secret_quoted_by_a_template_error_is_not_shown() -> None:
    # FN.to_int quotes the value it could not convert; the step read a secret, so no value is quoted at all.
    args = {"value": "${{ FN.to_int(SECRETS.vt.API_KEY) }}"}
    [report] = await run(batch(step("conv", args=args)), services(VT__API_KEY=SECRET))
    assert report.error is not None and report.error.type == "TemplateError"
    assert SECRET not in report.error.message and "not shown: the step read a secret" in report.error.message


async def test_a_broken_secrets_file_fails_only_the_action_missing_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(f'{{"vt": {{"API_KEY": "{SECRET}"}}}}')
    backend = FileSecrets(path)
    assert backend.get("vt") == {"API_KEY": SECRET}  # the last good copy
    path.write_text('{"vt": {"API_KEY": "half-writ')  # caught in the middle of a rewrite
    os.utime(path, ns=(1, 1))
    steps = [
        step("uses", args={"value": "${{ SECRETS.vt.API_KEY }}"}),
        step("missing", args={"value": "${{ SECRETS.gone.TOKEN }}"}),
        step("missing_key", args={"value": "${{ SECRETS.vt.OTHER }}"}),
        step("plain", args={"value": "${{ TRIGGER.n }}"}),
    ]
    reports = await run(batch(*steps), StepServices(secrets=backend))
    assert [(r.ref, r.status) for r in reports] == [
        ("uses", "succeeded"),
        ("missing", "failed"),
        ("missing_key", "failed"),
        ("plain", "succeeded"),
    ]
    assert reports[0].result == "***"
    missing, missing_key = reports[1].error, reports[2].error
    assert (
        missing is not None and missing.type == "SecretNotFound" and "secret 'gone' is not defined" in missing.message
    )
    assert missing_key is not None and "secret 'vt' has no key 'OTHER'" in missing_key.message
    assert all(SECRET not in (r.error.message if r.error else "") for r in reports)


async def test_a_failing_secrets_backend_fails_only_the_steps_reading_it() -> None:
    class FlakyVault:
        def get(self, name: str) -> dict[str, str] | None:
            if name == "down":
                raise TimeoutError(f"vault timed out reading {SECRET}")
            return {"KEY": SECRET}

    steps = [
        step("down", args={"value": "${{ SECRETS.down.KEY }}"}),
        step("up", args={"value": "${{ SECRETS.up.KEY }}"}),
    ]
    reports = await run(batch(*steps), StepServices(secrets=FlakyVault()))
    assert [(r.ref, r.status) for r in reports] == [("down", "failed"), ("up", "succeeded")]
    error = reports[0].error
    assert error is not None and "secret 'down' could not be read" in error.message and SECRET not in error.message
