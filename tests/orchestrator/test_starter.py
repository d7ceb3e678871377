"""TemporalStarter's retry loop and duplicate handling, and the index of open firing runs it keeps and reads (the
real server is in test_app_integration and test_pairing_integration)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesResponse
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from dsl.loader import load_workflows
from services.executor.catalog import action_catalog
from services.orchestrator.contracts import DSLRun
from services.orchestrator.defaults import WORKFLOWS_DIR
from services.orchestrator.open_runs import (
    SERIES,
    SERIES_ATTRIBUTE,
    STARTS_AT_MEMO,
    SearchAttributeMissing,
    ensure_search_attribute,
    list_open_firing_runs,
    open_runs_query,
)
from services.orchestrator.starter import TemporalStarter
from services.shared.backoff import is_permanent
from tests.orchestrator.factories import DEMO_ALERT, make_trigger


class FlakyClient:
    """Answers start_workflow with the given exceptions in turn, then accepts."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[dict[str, Any]] = []

    async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        if self.errors:
            raise self.errors.pop(0)


def a_run() -> DSLRun:
    return DSLRun(
        definition=load_workflows(WORKFLOWS_DIR, action_catalog)["triage"],
        trigger=make_trigger(),
        action_task_queue="q",
    )


async def test_retries_until_temporal_accepts() -> None:
    client = FlakyClient(RPCError("down", RPCStatusCode.UNAVAILABLE, b""), TimeoutError("slow"))
    starter = TemporalStarter(client, "wf-q", initial_backoff=0.01, max_backoff=0.02)  # type: ignore[arg-type]
    run = a_run()
    assert await starter.start(run) == "started"
    assert len(client.calls) == 3
    call = client.calls[-1]
    assert call["id"] == run.trigger.data.idempotency_key
    assert call["task_queue"] == "wf-q"
    assert call["id_reuse_policy"] == WorkflowIDReusePolicy.REJECT_DUPLICATE
    assert call["memo"]["correlationid"] == run.trigger.correlationid
    assert call["request_eager_start"] is True  # this process runs the workflow worker too


async def test_already_started_is_a_duplicate_not_an_error() -> None:
    client = FlakyClient(WorkflowAlreadyStartedError("wf", "DSLWorkflow"))
    starter = TemporalStarter(client, "wf-q")  # type: ignore[arg-type]
    assert await starter.start(a_run()) == "duplicate"


async def test_an_invalid_argument_is_raised_at_once_not_retried() -> None:
    refused = RPCError("WorkflowId exceeds maximum allowed length (1001/1000)", RPCStatusCode.INVALID_ARGUMENT, b"")
    client = FlakyClient(refused)
    starter = TemporalStarter(client, "wf-q", initial_backoff=0.01, max_backoff=0.02)  # type: ignore[arg-type]
    try:
        await starter.start(a_run())
    except RPCError as error:
        assert error is refused
    else:
        raise AssertionError("a refused start must not be reported as started")
    assert len(client.calls) == 1


async def test_a_firing_alerts_run_is_started_indexed_and_a_resolved_alerts_is_not() -> None:
    client = FlakyClient()
    starter = TemporalStarter(client, "wf-q")  # type: ignore[arg-type]
    firing = a_run()
    await starter.start(firing)
    call = client.calls[-1]
    assert call["search_attributes"][SERIES] == "wf-q:triage:alertmanager:1a30ba71cca2921f"
    assert call["memo"][STARTS_AT_MEMO] == "2023-02-06T13:08:45+00:00"
    resolved = a_run()
    data = resolved.trigger.data
    data = data.model_copy(update={"alert": DEMO_ALERT.model_copy(update={"status": "resolved"})})
    resolved = resolved.model_copy(update={"trigger": resolved.trigger.model_copy(update={"data": data})})
    await starter.start(resolved)
    assert client.calls[-1]["search_attributes"] is None
    assert STARTS_AT_MEMO not in client.calls[-1]["memo"]


class Listed:
    """One execution of a visibility listing: its id and memo."""

    def __init__(self, workflow_id: str, memo: dict[str, Any]) -> None:
        self.id = workflow_id
        self._memo = memo

    async def memo_value(self, key: str, default: Any) -> Any:
        return self._memo.get(key, default)


class Visibility:
    """list_workflows that fails with the given errors, then lists ``listed``."""

    def __init__(self, listed: list[Listed], errors: list[Exception] | None = None) -> None:
        self.listed, self.errors = listed, list(errors or [])
        self.queries: list[tuple[str, int]] = []

    def list_workflows(self, query: str, *, limit: int) -> AsyncIterator[Listed]:
        self.queries.append((query, limit))
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Listed]:
        if self.errors:
            raise self.errors.pop(0)
        for item in self.listed:
            yield item


def resolved_trigger(**alert: Any) -> Any:
    trigger = make_trigger()
    update = {"status": "resolved", **alert}
    return trigger.data.model_copy(update={"alert": DEMO_ALERT.model_copy(update=update)})


async def test_the_open_runs_are_listed_by_the_alerts_series_among_running_runs() -> None:
    client = Visibility([Listed("run-1", {})])
    assert await list_open_firing_runs(client, "wf-q", resolved_trigger()) == ["run-1"]  # type: ignore[arg-type]
    assert client.queries == [
        ('AlertmeshAlert = "wf-q:triage:alertmanager:1a30ba71cca2921f" AND ExecutionStatus = "Running"', 100)
    ]
    assert client.queries[0][0] == open_runs_query("wf-q:triage:alertmanager:1a30ba71cca2921f")


async def test_open_runs_of_another_firing_of_the_alert_are_left_alone() -> None:
    client = Visibility(
        [
            Listed("same-start", {STARTS_AT_MEMO: "2023-02-06T13:08:45+00:00"}),
            Listed("other-start", {STARTS_AT_MEMO: "2023-02-06T14:00:00+00:00"}),
            Listed("no-start", {}),
        ]
    )
    found = await list_open_firing_runs(client, "wf-q", resolved_trigger())  # type: ignore[arg-type]
    assert found == ["same-start", "no-start"]  # the later firing is not the one this resolved alert ends
    no_start = resolved_trigger(starts_at=None)
    assert len(await list_open_firing_runs(client, "wf-q", no_start)) == 3  # type: ignore[arg-type]


async def test_the_starter_waits_out_a_visibility_outage() -> None:
    client = Visibility([Listed("run-1", {})], errors=[RPCError("down", RPCStatusCode.UNAVAILABLE, b"")])
    starter = TemporalStarter(client, "wf-q", initial_backoff=0.01, max_backoff=0.02)  # type: ignore[arg-type]
    assert await starter.open_firing_runs(resolved_trigger()) == ["run-1"]
    assert len(client.queries) == 2


class FakeOperator:
    """The operator service: lists ``registered``; add answers with ``refusal`` if set, else registers."""

    def __init__(self, registered: set[str], refusal: RPCError | None = None) -> None:
        self.registered, self.refusal = registered, refusal
        self.added: list[Any] = []

    async def list_search_attributes(self, request: Any) -> Any:
        assert request.namespace == "alerts"
        return ListSearchAttributesResponse(custom_attributes=dict.fromkeys(self.registered, 2))

    async def add_search_attributes(self, request: Any) -> None:
        self.added.append(request)
        if self.refusal is not None:
            raise self.refusal
        self.registered.update(request.search_attributes)


class OperatorClient:
    def __init__(self, operator: FakeOperator) -> None:
        self.operator_service, self.namespace = operator, "alerts"


async def test_the_search_attribute_is_registered_once_as_a_keyword() -> None:
    operator = FakeOperator(registered=set())
    await ensure_search_attribute(OperatorClient(operator))  # type: ignore[arg-type]
    await ensure_search_attribute(OperatorClient(operator))  # type: ignore[arg-type]
    [request] = operator.added
    assert request.namespace == "alerts"
    assert dict(request.search_attributes) == {SERIES_ATTRIBUTE: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}


async def test_a_registration_temporal_refuses_says_how_to_register_it_by_hand() -> None:
    denied = RPCError("not allowed", RPCStatusCode.PERMISSION_DENIED, b"")
    with pytest.raises(SearchAttributeMissing) as refused:
        await ensure_search_attribute(OperatorClient(FakeOperator(set(), denied)))  # type: ignore[arg-type]
    assert is_permanent(refused.value)  # the orchestrator stops with the message instead of retrying forever
    assert "temporal operator search-attribute create --namespace alerts --name AlertmeshAlert --type Keyword" in str(
        refused.value
    )
    raced = RPCError("exists", RPCStatusCode.ALREADY_EXISTS, b"")
    await ensure_search_attribute(OperatorClient(FakeOperator(set(), raced)))  # type: ignore[arg-type]
    down = RPCError("down", RPCStatusCode.UNAVAILABLE, b"")
    with pytest.raises(RPCError):  # transient: the caller's backoff retries it
        await ensure_search_attribute(OperatorClient(FakeOperator(set(), down)))  # type: ignore[arg-type]
