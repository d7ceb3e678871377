"""Unit tests of ``alertmesh rerun``'s pure parts; tests/orchestrator/test_rerun_integration.py runs it for real."""

from __future__ import annotations

from collections.abc import AsyncIterator

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from alertmesh.cli import parser
from alertmesh.commands.rerun.reset import first_workflow_task_end, request_id

E = EventType


async def _events(*types: EventType.ValueType) -> AsyncIterator[HistoryEvent]:
    for number, event_type in enumerate(types, start=1):
        yield HistoryEvent(event_id=number, event_type=event_type)


START = (E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)


async def test_reset_point_is_the_end_of_the_first_workflow_task() -> None:
    history = _events(
        *START,
        E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    )
    assert await first_workflow_task_end(history) == 4


async def test_a_failed_first_workflow_task_is_a_reset_point_too() -> None:
    history = _events(*START, E.EVENT_TYPE_WORKFLOW_TASK_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    assert await first_workflow_task_end(history) == 4


async def test_no_reset_point_before_a_workflow_task_ended() -> None:
    assert await first_workflow_task_end(_events(*START)) is None
    terminated = _events(*START, E.EVENT_TYPE_WORKFLOW_TASK_STARTED, E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
    assert await first_workflow_task_end(terminated) is None


def test_request_id_is_one_per_run() -> None:
    assert request_id("wf", "run-1") == request_id("wf", "run-1")
    assert request_id("wf", "run-1") != request_id("wf", "run-2") != request_id("wf2", "run-2")


def test_rerun_command_line() -> None:
    args = parser().parse_args(["rerun", "triage:alertmanager:fp:firing:20230206T130845.828Z", "--reason", "x"])
    assert (args.command, args.workflow_id, args.reason) == (
        "rerun",
        "triage:alertmanager:fp:firing:20230206T130845.828Z",
        "x",
    )
    assert parser().parse_args(["rerun", "id"]).reason == "rerun requested"
