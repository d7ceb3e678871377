"""Cutting a WorkflowResult to the results topic's limit: deterministic, largest first, every cut named."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import orjson

from schemas import ActionError, ActionReport, WorkflowResult
from services.orchestrator.result_size import (
    KEPT_CHARS,
    RECORD_OVERHEAD_BYTES,
    TEMPORAL_RESULT_BYTES,
    fit_result,
    result_limit,
    result_size,
)
from services.orchestrator.results import build_result
from tests.orchestrator.factories import definition, make_trigger

NOW = datetime(2024, 1, 1, tzinfo=UTC)
DEFINITION = definition(
    [{"ref": "a", "action": "x"}, {"ref": "b", "action": "x"}, {"ref": "c", "action": "x"}],
    returns={"a": "${{ ACTIONS.a.result }}", "note": "small"},
)


def result(*reports: ActionReport) -> WorkflowResult:
    return build_result(
        DEFINITION, make_trigger(), list(reports), workflow_id="wf", run_id="run", started_at=NOW, finished_at=NOW
    )


def ok(ref: str, value: object) -> ActionReport:
    return ActionReport(ref=ref, action="x", status="succeeded", result=value)


def test_a_result_that_fits_is_untouched() -> None:
    small = result(ok("a", "x"), ok("b", 1), ok("c", None))
    assert fit_result(small, 16_384) is small and small.data.cut == []


def test_largest_values_are_cut_first_and_named() -> None:
    big_a, mid_b = "a" * 50_000, ["b" * 100] * 200  # returns repeats a: the two 50 kB values go first
    event = result(ok("a", big_a), ok("b", mid_b), ok("c", "small"))
    fitted = fit_result(event, 40_000)
    assert result_size(fitted) <= 40_000
    assert [cut.path for cut in fitted.data.cut] == ["/returns", "/actions/0/result"]
    encoded = orjson.dumps(big_a)
    returns_cut, result_cut = fitted.data.cut
    assert (result_cut.bytes, result_cut.sha256) == (len(encoded), hashlib.sha256(encoded).hexdigest())
    assert returns_cut.bytes == len(orjson.dumps({"a": big_a, "note": "small"}))
    assert fitted.data.actions[0].result == {"$cut": {"bytes": len(encoded), "sha256": result_cut.sha256}}
    assert fitted.data.actions[1].result == mid_b and fitted.data.actions[2].result == "small"
    assert fitted.id == event.id and fitted.data.status == "completed"  # identity and outcome unchanged


def test_cutting_is_deterministic() -> None:
    event = result(ok("a", "a" * 30_000), ok("b", "b" * 30_000), ok("c", "c" * 30_000))
    assert fit_result(event, 40_000) == fit_result(event, 40_000)
    # Equal sizes: document order decides, so a replay picks the same ones.
    assert [cut.path for cut in fit_result(event, 40_000).data.cut][:2] == ["/returns", "/actions/0/result"]


def test_huge_error_messages_keep_their_start() -> None:
    message = "Traceback: " + "frame\n" * 20_000
    failed = ActionReport(ref="a", action="x", status="failed", error=ActionError(type="Boom", message=message))
    event = result(failed, ok("b", 1), ok("c", 2))
    fitted = fit_result(event, 16_384)
    assert result_size(fitted) <= 16_384 and fitted.data.status == "failed"
    cut_paths = {cut.path for cut in fitted.data.cut}
    assert {"/actions/0/error/message", "/error"} <= cut_paths
    error = fitted.data.actions[0].error
    assert error is not None and error.type == "Boom"
    assert error.message.startswith(message[:KEPT_CHARS]) and "[cut: " in error.message
    assert fitted.data.error is not None and fitted.data.error.startswith("action 'a' failed: Boom: Traceback")


def test_thousands_of_reports_drop_the_action_list_as_a_last_resort() -> None:
    many = definition([{"ref": f"a{i}", "action": "x"} for i in range(3000)])
    reports = [ok(f"a{i}", i) for i in range(3000)]
    event = build_result(many, make_trigger(), reports, workflow_id="wf", run_id="r", started_at=NOW, finished_at=NOW)
    fitted = fit_result(event, 16_384)
    assert result_size(fitted) <= 16_384
    assert fitted.data.actions == [] and fitted.data.cut[-1].path == "/actions"
    assert fitted.data.cut[-1].bytes > 16_384


def test_limit_leaves_room_for_the_record_and_temporal() -> None:
    assert result_limit(1_048_576) == 1_048_576 - RECORD_OVERHEAD_BYTES
    assert result_limit(100 * 1_048_576) == TEMPORAL_RESULT_BYTES  # the workflow returns it: Temporal's 2 MiB
