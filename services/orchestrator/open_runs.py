"""The index of open firing runs, kept by Temporal itself: which running run a resolved alert belongs to when its
key cannot name it.

A resolved alert's own key only names its firing run when both were keyed by the sender's start time
(``lifecycle.firing_run_id``). A CloudEvent is keyed by its event id, and an alert with neither id nor start time
(a Datadog monitor through a field map) by a hash of its content: the resolved notification has another id or
other content, so it cannot spell the firing run's id. So every run started for a firing alert carries the search
attribute ``AlertmeshAlert`` = ``task-queue:workflow:source:fingerprint`` (``alert_series``) and, when the alert has
one, its start time in the memo; a resolved alert lists the open runs with the same value (Temporal visibility).

Why Temporal: the runs are durable there already, so the index survives any restart and is never out of step with
the runs it indexes (no second store to write in the same breath as the start). Visibility is eventually
consistent: a run started a moment ago may not be listed yet (milliseconds on the dev server's SQLite, about a
second with Elasticsearch), so the trigger consumer asks again after each of ``LOOKUP_DELAYS`` before an empty answer
counts as "no run".
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from schemas import Trigger
from schemas.alert import Alert
from schemas.identity import joined_key
from services.shared.backoff import PermanentError

log = logging.getLogger(__name__)

#: The search attribute every firing run carries (Keyword: matched whole, never tokenized).
SERIES_ATTRIBUTE = "AlertmeshAlert"
SERIES = SearchAttributeKey.for_keyword(SERIES_ATTRIBUTE)
#: Memo key of the firing alert's start time (ISO 8601), when it has one.
STARTS_AT_MEMO = "alert_starts_at"
#: Waits before asking visibility again when it lists no open run (3.1 s in all): covers the indexing delay of a
#: run started just before its resolved alert arrived (same batch, or the previous one).
LOOKUP_DELAYS = (0.1, 0.2, 0.4, 0.8, 1.6)
#: At most this many open runs of one alert are signalled (repeated firings without a start time).
MAX_OPEN_RUNS = 100
#: What Temporal answers when this client may not, or cannot, register a search attribute: retrying cannot help.
_CANNOT_REGISTER = (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.FAILED_PRECONDITION)


class SearchAttributeMissing(PermanentError):
    """``SERIES_ATTRIBUTE`` is not registered and the orchestrator may not register it: an operator must."""


def alert_series(task_queue: str, workflow: str, alert: Alert) -> str:
    """What a firing run and its resolved alert share whatever their keys: ``task-queue:workflow:source:fingerprint``
    (sanitized and hashed like the idempotency key, so it is safe inside a visibility query). The task queue keeps
    two meshes sharing a Temporal namespace apart."""
    return joined_key([task_queue, workflow, alert.source, alert.fingerprint])


def firing_marks(trigger: Trigger, task_queue: str) -> tuple[TypedSearchAttributes | None, dict[str, Any]]:
    """The search attributes and extra memo of a run started for ``trigger``: the index entry for a firing alert,
    nothing for any other (a run a resolved alert started is never a firing run)."""
    alert = trigger.alert
    if alert.status != "firing":
        return None, {}
    series = alert_series(task_queue, trigger.workflow, alert)
    memo = {STARTS_AT_MEMO: _aware(alert.starts_at).isoformat()} if alert.starts_at is not None else {}
    return TypedSearchAttributes([SearchAttributePair(SERIES, series)]), memo


def open_runs_query(series: str) -> str:
    """The visibility query for the running runs of ``series`` (already safe inside double quotes)."""
    return f'{SERIES_ATTRIBUTE} = "{series}" AND ExecutionStatus = "Running"'


def same_firing(alert: Alert, recorded_start: object) -> bool:
    """Whether an open run whose firing alert started at ``recorded_start`` (memo; None when unknown) is a firing the
    resolved ``alert`` ends: yes unless both times are known and the run's firing started after the resolved
    alert's start (a later firing of the same alert, e.g. a resolved notification redelivered after the alert fired
    again). Equal times are Alertmanager's and Grafana's rule (the resolved alert keeps ``startsAt``); a later
    resolved time is a sender that stamps each notification with its own time (a CloudEvent's ``time``, a field
    map reading the event's date)."""
    if alert.starts_at is None or not isinstance(recorded_start, str):
        return True
    try:
        started = datetime.fromisoformat(recorded_start)
    except ValueError:  # not written by firing_marks: nothing to tell the firings apart by
        return True
    return _aware(started) <= _aware(alert.starts_at)


def _aware(moment: datetime) -> datetime:
    """``moment`` with a zone: one without is read as UTC, as ``schemas.identity.time_text`` does. Aware times
    compare as instants whatever their offsets, and are not converted (that overflows at the calendar's edges)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def ensure_search_attribute(client: Client) -> None:
    """Register ``SERIES_ATTRIBUTE`` (Keyword) in the client's namespace unless it is there already.

    The orchestrator calls this before it starts any run: a start naming an unregistered attribute is refused.
    Registering needs the operator API (allowed on the dev server and a self-hosted cluster without
    authorization); where it is not allowed, register it once by hand (``temporal operator search-attribute
    create --name AlertmeshAlert --type Keyword``) and this only checks."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    if SERIES_ATTRIBUTE in listed.custom_attributes:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={SERIES_ATTRIBUTE: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
            )
        )
    except RPCError as error:
        if error.status == RPCStatusCode.ALREADY_EXISTS:  # another orchestrator registered it meanwhile
            return
        if error.status not in _CANNOT_REGISTER:
            raise
        raise SearchAttributeMissing(
            f"the search attribute {SERIES_ATTRIBUTE} is not registered in namespace {client.namespace!r} and "
            f"Temporal refused to register it ({error.status.name}: {error.message}); register it once: temporal "
            f"operator search-attribute create --namespace {client.namespace} --name {SERIES_ATTRIBUTE} --type Keyword"
        ) from None
    log.info("registered the search attribute %s in namespace %s", SERIES_ATTRIBUTE, client.namespace)


async def list_open_firing_runs(client: Client, task_queue: str, trigger: Trigger) -> list[str]:
    """The workflow ids of the open runs started for the firing alert that ``trigger``'s resolved alert ends (at
    most ``MAX_OPEN_RUNS``), as visibility lists them now."""
    alert = trigger.alert
    query = open_runs_query(alert_series(task_queue, trigger.workflow, alert))
    return [
        execution.id
        async for execution in client.list_workflows(query, limit=MAX_OPEN_RUNS)
        if same_firing(alert, await execution.memo_value(STARTS_AT_MEMO, None))
    ]
