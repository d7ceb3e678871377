"""DagScheduler's DSL features with a fake dispatcher: edges and joins, run_if, skip propagation, retry policies,
for_each, timers, child workflows, the run timeout."""

from __future__ import annotations

from typing import Any

from dsl.model import WorkflowDefinition
from schemas import ActionReport
from services.orchestrator.evaluation import RunContext
from services.orchestrator.scheduler import DagScheduler
from tests.orchestrator.factories import definition
from tests.orchestrator.fake_dispatch import START, FakeDispatch


def echo(args: dict[str, Any], attempt: int) -> Any:
    return args.get("value")


def fail(args: dict[str, Any], attempt: int) -> Any:
    raise RuntimeError(args.get("message", "boom"))


def fail_twice(args: dict[str, Any], attempt: int) -> Any:
    if attempt <= 2:
        raise ValueError(f"attempt {attempt} failed")
    return attempt


def lost_once(args: dict[str, Any], attempt: int) -> Any:
    if attempt == 1:
        raise ConnectionError("ray worker died")
    return "ok"


ACTIONS = {"echo": echo, "fail": fail, "fail_twice": fail_twice, "lost_once": lost_once}


async def run(
    actions: list[dict[str, Any]], trigger: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[dict[str, ActionReport], FakeDispatch]:
    fake = FakeDispatch(ACTIONS, trigger)
    checked: WorkflowDefinition = definition(actions)
    context = RunContext(trigger=trigger or {}, env={"workflow_id": "wf"}, vars={"limit": 2})
    reports = await DagScheduler(checked, fake, context=context, **kwargs).run()
    return {r.ref: r for r in reports}, fake


def statuses(reports: dict[str, ActionReport]) -> dict[str, str]:
    return {ref: r.status for ref, r in reports.items()}


async def test_an_error_edge_runs_only_when_its_source_failed_and_reads_the_error() -> None:
    reports, _ = await run(
        [
            {"ref": "a", "action": "fail", "args": {"message": "down"}},
            {"ref": "ok", "action": "echo", "depends_on": ["a"]},
            {
                "ref": "handler",
                "action": "echo",
                "depends_on": ["a.error"],
                "args": {"value": "${{ ACTIONS.a.error.type }}: ${{ ACTIONS.a.error.message }}"},
            },
            {"ref": "b", "action": "echo", "args": {"value": 1}},
            {"ref": "on_b_error", "action": "echo", "depends_on": ["b.error"]},
            {"ref": "on_b", "action": "echo", "depends_on": ["b.success"], "args": {"value": 2}},
        ]
    )
    assert statuses(reports) == {
        "a": "failed", "ok": "skipped", "handler": "succeeded", "b": "succeeded", "on_b_error": "skipped",
        "on_b": "succeeded",
    }  # fmt: skip
    assert reports["on_b_error"].error is not None and reports["on_b_error"].error.message == "skipped: b did not fail"
    assert reports["handler"].result == "RuntimeError: down"  # the batch carried a's error


async def test_run_if_false_skips_and_the_skip_propagates_but_any_join_still_runs() -> None:
    reports, _ = await run(
        [
            {"ref": "a", "action": "echo", "args": {"value": 3}},
            {"ref": "maybe", "action": "echo", "depends_on": ["a"], "run_if": "${{ ACTIONS.a.result > 5 }}"},
            {"ref": "after_maybe", "action": "echo", "depends_on": ["maybe"]},
            {"ref": "all_join", "action": "echo", "depends_on": ["a", "maybe"]},
            {"ref": "any_join", "action": "echo", "depends_on": ["a", "maybe"], "join_strategy": "any"},
            {"ref": "any_none", "action": "echo", "depends_on": ["maybe", "after_maybe"], "join_strategy": "any"},
            {"ref": "yes", "action": "echo", "run_if": "ACTIONS.a.result == 3 && TRIGGER.go", "depends_on": ["a"]},
        ],
        trigger={"go": True},
    )
    assert statuses(reports) == {
        "a": "succeeded", "maybe": "skipped", "after_maybe": "skipped", "all_join": "skipped",
        "any_join": "succeeded", "any_none": "skipped", "yes": "succeeded",
    }  # fmt: skip
    assert reports["maybe"].error is not None and reports["maybe"].error.message == "run_if was false"


async def test_a_run_if_that_cannot_be_evaluated_fails_the_action() -> None:
    reports, _ = await run([{"ref": "a", "action": "echo", "run_if": "${{ TRIGGER.missing.deeper }}"}])
    assert reports["a"].status == "failed" and reports["a"].error is not None
    assert reports["a"].error.type == "TemplateError" and "missing" in reports["a"].error.message


async def test_an_any_join_runs_as_soon_as_one_edge_holds() -> None:
    reports, fake = await run(
        [
            {"ref": "fast", "action": "echo", "args": {"value": 1}},
            {"ref": "slow", "action": "echo", "start_delay": 50, "args": {"value": 2}},
            {"ref": "first", "action": "echo", "depends_on": ["fast", "slow"], "join_strategy": "any"},
        ]
    )
    assert fake.log.index("dispatch first") < fake.log.index("dispatch slow")
    assert statuses(reports) == {"fast": "succeeded", "slow": "succeeded", "first": "succeeded"}


async def test_the_actions_own_failures_are_retried_per_its_policy_with_backoff() -> None:
    policy = {"max_attempts": 3, "initial_interval": 2, "backoff_coefficient": 3}
    reports, fake = await run([{"ref": "a", "action": "fail_twice", "retry_policy": policy}])
    assert (reports["a"].status, reports["a"].result, reports["a"].attempts) == ("succeeded", 3, 3)
    assert [e for e in fake.log if e.startswith("sleep")] == ["sleep 2", "sleep 6"]

    reports, _ = await run([{"ref": "a", "action": "fail_twice", "retry_policy": {"max_attempts": 2}}])
    assert (reports["a"].status, reports["a"].attempts) == ("failed", 2)

    no = {"max_attempts": 5, "non_retryable": ["ValueError"]}
    reports, _ = await run([{"ref": "a", "action": "fail_twice", "retry_policy": no}])
    assert (reports["a"].status, reports["a"].attempts) == ("failed", 1)


async def test_retry_until_is_forwarded_and_retried_and_infrastructure_losses_retry_anyway() -> None:
    until = {"max_attempts": 4, "initial_interval": 0, "retry_until": "${{ ACTIONS.a.result >= 3 }}", "timeout": 9}
    reports, fake = await run([{"ref": "a", "action": "fail_twice", "retry_policy": until}])
    assert (reports["a"].status, reports["a"].attempts) == ("succeeded", 3)
    assert not [e for e in fake.log if e.startswith("sleep")]  # initial_interval 0: no timer at all

    reports, _ = await run([{"ref": "a", "action": "lost_once"}])  # max_attempts 1, yet a lost worker retries
    assert (reports["a"].status, reports["a"].attempts) == ("succeeded", 2)


async def test_for_each_runs_each_item_capped_and_gives_results_in_input_order() -> None:
    reports, fake = await run(
        [
            {"ref": "src", "action": "echo", "args": {"value": [5, 6, 7, 8, 9]}},
            {
                "ref": "each",
                "action": "echo",
                "depends_on": ["src"],
                "for_each": "${{ for var.n in ACTIONS.src.result }}",
                "max_concurrency": 2,
                "args": {"value": "${{ var.n }}"},
            },
            {
                "ref": "zipped",
                "action": "echo",
                "for_each": ["${{ for var.a in [1, 2] }}", "${{ for var.b in ['x', 'y'] }}"],
                "args": {"value": "${{ var.b }}${{ var.a }}"},
            },
            {"ref": "empty", "action": "echo", "for_each": "${{ for var.n in [] }}"},
        ]
    )
    assert reports["each"].result == [5, 6, 7, 8, 9] and reports["each"].status == "succeeded"
    assert reports["zipped"].result == ["x1", "y2"]
    assert (reports["empty"].status, reports["empty"].result) == ("succeeded", [])
    assert "dispatch each[4]" in fake.log and fake.most_running <= 3  # 2 items + zipped's first pair at most


async def test_a_failed_item_fails_the_loop_after_its_own_retries_and_names_the_item() -> None:
    reports, fake = await run(
        [
            {
                "ref": "each",
                "action": "fail_twice",
                "for_each": "${{ for var.n in [1, 2] }}",
                "retry_policy": {"max_attempts": 2, "initial_interval": 0},
            },
            {"ref": "bad", "action": "echo", "for_each": "${{ for var.n in TRIGGER }}"},
        ],
        trigger={"not": "a list"},
    )
    assert reports["each"].status == "failed" and reports["each"].result == [None, None]
    assert reports["each"].error is not None
    assert reports["each"].error.message == "2 of 2 items failed; item 0: ValueError: attempt 2 failed"
    # The first attempts go in one batch; each item's retry is an attempt of its own.
    assert fake.log == ["dispatch each[0],each[1]", "dispatch each[0]", "dispatch each[1]"]
    assert reports["bad"].error is not None and "not a list" in reports["bad"].error.message


async def test_start_delay_and_wait_until_are_timers_and_a_past_or_bad_moment_is_handled() -> None:
    later = (START.replace(hour=1)).isoformat()
    reports, fake = await run(
        [
            {"ref": "delayed", "action": "echo", "start_delay": 30, "args": {"value": 1}},
            {"ref": "until", "action": "echo", "wait_until": later, "args": {"value": 2}},
            {"ref": "past", "action": "echo", "wait_until": "2000-01-01T00:00:00Z", "args": {"value": 3}},
            {"ref": "bad", "action": "echo", "wait_until": "${{ TRIGGER.when }}"},
        ],
        trigger={"when": "next tuesday"},
    )
    assert "sleep 30" in fake.log and "sleep 3600" in fake.log and len([e for e in fake.log if "sleep" in e]) == 2
    assert statuses(reports) == {"delayed": "succeeded", "until": "succeeded", "past": "succeeded", "bad": "failed"}
    assert reports["bad"].error is not None and "not an ISO 8601 date-time" in reports["bad"].error.message


async def test_child_workflows_get_rendered_args_per_item() -> None:
    reports, fake = await run(
        [
            {"ref": "a", "action": "echo", "args": {"value": "host"}},
            {
                "ref": "kids",
                "action": "core.workflow.execute",
                "depends_on": ["a"],
                "for_each": "${{ for var.n in [1, 2] }}",
                "args": {"workflow": "enrich", "inputs": {"n": "${{ var.n }}", "what": "${{ ACTIONS.a.result }}"}},
            },
            {"ref": "off", "action": "core.workflow.execute", "args": {"workflow": "notify", "wait": False}},
            {"ref": "bad", "action": "core.workflow.execute", "args": {"workflow": "${{ 3 }}"}},
        ]
    )
    assert reports["kids"].result == [{"echo": {"n": 1, "what": "host"}}, {"echo": {"n": 2, "what": "host"}}]
    assert reports["off"].result == {"workflow_id": "wf/off", "run_id": "r"}
    assert reports["bad"].status == "failed" and reports["bad"].error is not None
    assert reports["bad"].error.type == "ValidationError"
    assert sorted((ref, item or 0) for ref, _, item in fake.children) == [("kids", 0), ("kids", 1), ("off", 0)]


async def test_the_run_timeout_cancels_pending_work_and_fails_unfinished_actions() -> None:
    dsl = [
        {"ref": "quick", "action": "echo", "args": {"value": 1}},
        {"ref": "slow", "action": "echo", "start_delay": 5000},
        {"ref": "after", "action": "echo", "depends_on": ["slow"]},
    ]
    fake = FakeDispatch(ACTIONS)
    scheduler = DagScheduler(definition(dsl), fake, timeout=100)
    reports = {r.ref: r for r in await scheduler.run()}
    assert scheduler.timed_out
    assert statuses(reports) == {"quick": "succeeded", "slow": "failed", "after": "failed"}
    assert reports["after"].error is not None and reports["after"].error.type == "WorkflowTimeout"


async def test_a_plain_dag_costs_no_timers() -> None:
    reports, fake = await run(
        [
            {"ref": "a", "action": "echo", "args": {"value": 1}},
            {"ref": "b", "action": "echo", "depends_on": ["a"], "args": {"value": "${{ ACTIONS.a.result }}"}},
        ]
    )
    assert fake.log == ["dispatch a,b", "dispatch b"]  # b rode along as a follower (not run: echo is not pure)
    assert reports["b"].result == 1


async def test_workflow_expressions_cannot_read_into_a_stored_result_but_pass_it_whole() -> None:
    stored = {"$stored": {"uri": "file:///blob", "size": 200000, "sha256": "00"}}
    reports, _ = await run(
        [
            {"ref": "big", "action": "echo", "args": {"value": stored}},
            {"ref": "peek", "action": "echo", "depends_on": ["big"], "run_if": "${{ ACTIONS.big.result.ok }}"},
            {
                "ref": "kid",
                "action": "core.workflow.execute",
                "depends_on": ["big"],
                "args": {"workflow": "w", "inputs": {"whole": "${{ ACTIONS.big.result }}"}},
            },
        ]
    )
    assert reports["peek"].status == "failed" and reports["peek"].error is not None
    assert reports["peek"].error.message == (
        "'${{ ACTIONS.big.result.ok }}': ACTIONS.big.result is stored outside history (200000 bytes); "
        "only action args can read into it"
    )
    assert reports["kid"].result == {"echo": {"whole": stored}}
