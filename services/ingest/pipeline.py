"""The ingest pipeline as a pure function: one raw Kafka record in, the triggers to publish and what failed out.

No I/O, and nothing escapes: whatever one record does to a step (a parser bug, a value no check foresaw) is a
property of that record, so it becomes that record's dead letter instead of an exception that would rewind the
partition and read the record again forever. Unexpected errors are still logged at ERROR with the traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import orjson
from pydantic import ValidationError

from schemas.alert import Alert
from schemas.identity import alert_event_id, idempotency_key, occurrence, trigger_event_id
from schemas.trigger import Trigger, WorkflowTrigger
from services.ingest.parsers import (
    PARSERS,
    SOURCE_HEADER,
    InvalidAlert,
    ParseError,
    RefusedAlert,
    TooManyAlerts,
    read_alerts,
)
from services.ingest.parsers.base import Parser
from services.ingest.routing import Route, RoutingTable
from services.shared import metrics
from services.shared.alert_limits import DEFAULT_MAX_ALERTS_PER_RECORD
from services.shared.deadletter import MAX_REASON_CHARS, AlertOfRecord, ConsumedRecord, printable
from services.shared.kafka import record_size
from services.shared.tracing import BAGGAGE, correlation_baggage

log = logging.getLogger(__name__)

#: CloudEvents ``source`` of every event ingest emits.
EVENT_SOURCE = "alertmesh/ingest"
#: The ``service`` label of ingest's metrics.
SERVICE = metrics.service_of(EVENT_SOURCE)
#: Dead-letter stages (``schemas.deadletter.STAGES``): not a format ingest reads.
PARSE_STAGE = "parse"
#: A parsed alert breaks the Alert contract.
VALIDATE_STAGE = "validate"
ROUTE_STAGE = "route"
#: Noise control cannot keep the alert: its dedup or grouping state cannot be written, or its group never flushed.
NOISE_STAGE = "noise"
#: Building a trigger: it cannot be serialized, the orchestrator could not decode it, or it is too large.
TRIGGER_STAGE = VALIDATE_STAGE
#: Kafka refused a trigger as permanently unwritable (see ``services.shared.backoff.is_permanent``).
PUBLISH_STAGE = "publish"
#: Records larger than this are processed in a worker thread (see ``process_all``): a few hundred alerts and more.
#: Smaller ones (an Alertmanager notification is a few KB) are not worth the thread's hand-off.
THREADED_RECORD_BYTES = 64 * 1024
#: A trigger body opening fewer objects and arrays than this nests too shallow for the orchestrator's JSON reader
#: to refuse it (it stops at about 200 levels): see ``undecodable``.
SURELY_DECODABLE_BRACKETS = 128


@dataclass(frozen=True)
class Failure:
    """Why (part of) a record did not become triggers, at which step, and who sent it (when known).

    Reasons quote the input (alert names, label keys, fingerprints): the reason is escaped as it is built
    (``printable``), so a terminal escape or a newline in a payload never reaches a log line, a span or a dead
    letter raw.
    """

    stage: str
    reason: str
    source: str | None = None
    #: When the record holds several alerts and only this one failed: its place, name and own JSON. Each such
    #: failure is its own dead letter (the record's bytes are kept in the first, see ``Emitter``).
    alert: AlertOfRecord | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", printable(self.reason, MAX_REASON_CHARS))


@dataclass(frozen=True)
class ReadyTrigger:
    """A trigger serialized and checked: the orchestrator can decode it and it fits the message size limit."""

    event: WorkflowTrigger
    key: bytes
    body: bytes
    headers: dict[str, str]
    #: The alert's place in its record when the record holds several (for the dead letter of a trigger Kafka refuses).
    index: int | None = None

    def failure(self, stage: str, reason: str) -> Failure:
        """This trigger's alert failing at ``stage``: a failure of that one alert of its record."""
        alert = self.event.data.alert
        return Failure(stage, reason, alert.source, alert_of_record(alert, self.index))


def alert_of_record(alert: Alert, index: int | None) -> AlertOfRecord | None:
    """What a dead letter about ``alert`` names of it (None for a record's only alert: its letter is the record's)."""
    if index is None:
        return None
    try:
        element = orjson.dumps(alert.payload)
    except (orjson.JSONEncodeError, TypeError):  # nested past orjson's depth: the letter's original still has it
        element = None
    return AlertOfRecord(index, alert.name, element)


def refused_alert(entry: RefusedAlert, source: str | None) -> Failure:
    """The failure of a group's element that is not an alert, naming its index."""
    try:
        element = None if entry.element is None else orjson.dumps(entry.element)
    except (orjson.JSONEncodeError, TypeError):
        element = None
    return Failure(entry.stage, entry.reason, source, AlertOfRecord(entry.index, None, element))


@dataclass(frozen=True)
class Outcome:
    """What one record gives: a trigger per route an alert matched, and its failures, each its own dead letter
    (the whole record's, or one alert's of a group)."""

    triggers: list[ReadyTrigger] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: Alerts no route matched, dropped as the routing file's ``default: drop`` says (counted and logged, no letter).
    dropped: list[Failure] = field(default_factory=list)
    #: Triggers noise control kept back (a repeat within the dedup window, an alert held in a group), each with
    #: what happened to it: no trigger of its own goes out, and the record's span says why.
    held: list[tuple[ReadyTrigger, str]] = field(default_factory=list)
    #: Every alert the record held (routed or not): the alerts table gets a row of each (``alert_rows``).
    alerts: list[Alert] = field(default_factory=list)
    #: The trace context (``traceparent``, ``tracestate``) of the record's ingest span: every record it causes,
    #: triggers and its dead letter, carries it (``services.shared.tracing``); empty when untraced.
    trace: Mapping[str, str] = field(default_factory=dict)


def dead_letter_cause(failures: list[Failure]) -> Failure:
    """One stage and reason for several failures in one dead letter (noise control's flush of a record's held
    alerts): the first failure's stage, every reason."""
    if len(failures) == 1:
        return failures[0]
    reasons = "; ".join(failure.reason for failure in failures)
    return Failure(failures[0].stage, f"{len(failures)} alerts did not become triggers: {reasons}", failures[0].source)


def process(
    record: ConsumedRecord,
    routing: RoutingTable,
    max_bytes: int,
    parsers: Sequence[Parser] = PARSERS,
    trace: Mapping[str, str] | None = None,
    max_alerts: int = DEFAULT_MAX_ALERTS_PER_RECORD,
) -> Outcome:
    """Parse, normalize and route one record into triggers of at most ``max_bytes`` (Kafka record size).

    An unparseable record gives one ``parse`` failure (``validate`` when an alert in it breaks the contract). In a
    group (several alerts in one message) each alert is read and routed on its own: routed ones give triggers, each
    other one a failure naming its index (``parse``/``validate`` when the element is not an alert, ``route`` when
    no route matches, ``validate`` when the trigger cannot be built), each its own dead letter (the emitter keeps
    the original message once, in the first; replaying it re-sends the routed triggers, which are idempotent).
    Alerts the sender cut from a group (``truncatedAlerts``) are counted and logged. ``parsers`` are the formats
    tried (``parsers_for`` adds the configured field maps). ``trace``: the trace headers of the record's span,
    written on each trigger with its correlation id as baggage. A record of more than ``max_alerts`` alerts is one
    ``parse`` failure naming the limit (``TooManyAlerts``).
    """
    trace = trace or {}
    sender = record.headers.get(SOURCE_HEADER, "").strip() or None
    try:
        entries = read_alerts(record.value, record.headers, parsers, max_alerts)
    except TooManyAlerts as error:
        metrics.count_record_over_alert_limit(SERVICE)
        return Outcome(failures=[Failure(PARSE_STAGE, error.reason, sender)], trace=trace)
    except InvalidAlert as error:
        return Outcome(failures=[Failure(VALIDATE_STAGE, error.reason, sender)], trace=trace)
    except ParseError as error:
        return Outcome(failures=[Failure(PARSE_STAGE, error.reason, sender)], trace=trace)
    except Exception as error:
        return Outcome(failures=[_unexpected(PARSE_STAGE, "parsing the record", error, sender)], trace=trace)
    alerts = [entry for entry in entries if not isinstance(entry, RefusedAlert)]
    metrics.count_alerts((alert.source, alert.format) for alert in alerts)
    _count_truncated(alerts, record)
    # An element of a group that is not a valid alert fails on its own; its neighbours still become triggers.
    outcome = Outcome(trace=trace, alerts=alerts)
    grouped = len(entries) > 1
    for index, entry in enumerate(entries):
        if isinstance(entry, RefusedAlert):
            outcome.failures.append(refused_alert(entry, sender))
        else:
            _route(entry, index if grouped else None, record, routing, max_bytes, outcome)
    return outcome


def _route(
    alert: Alert, index: int | None, record: ConsumedRecord, routing: RoutingTable, max_bytes: int, outcome: Outcome
) -> None:
    """Routes one alert of the record (``index``: its place when the record holds several) into ``outcome``."""
    where = "" if index is None else f"alerts[{index}]: "
    try:
        routes = routing.match(alert)
    except Exception as error:
        failure = _unexpected(ROUTE_STAGE, f"{where}routing alert {alert.name!r}", error, alert.source)
        outcome.failures.append(replace(failure, alert=alert_of_record(alert, index)))
        return
    if not routes:
        reason = (
            f"{where}no route matches alert {alert.name!r} (source={alert.source}, status={alert.status}, "
            f"severity={alert.severity}, fingerprint={alert.fingerprint})"
        )
        # The routing file's `default` decides: a dead letter (can be replayed) or a counted, logged drop.
        unrouted = outcome.dropped if routing.default == "drop" else outcome.failures
        unrouted.append(Failure(ROUTE_STAGE, reason, alert.source, alert_of_record(alert, index)))
    for route in routes:
        built = _build(alert, route, record.received_at, max_bytes, outcome.trace)
        if isinstance(built, ReadyTrigger):
            # A record's only alert keeps the index None ``_build`` gave: no copy of the trigger for it.
            outcome.triggers.append(built if index is None else replace(built, index=index))
        else:
            failure = replace(built, reason=f"{where}{built.reason}", alert=alert_of_record(alert, index))
            outcome.failures.append(failure)


def _count_truncated(alerts: Sequence[Alert], record: ConsumedRecord) -> None:
    """Count and log the alerts the sender cut from this record's group (``truncatedAlerts``): they reach no
    workflow, and nothing else would tell."""
    group = next((alert.group for alert in alerts if alert.group is not None), None)
    if group is None or not group.truncated_alerts:
        return
    alert = alerts[0]
    metrics.count_truncated_alerts(alert.source, alert.format, group.truncated_alerts)
    log.warning(
        "%s@%s/%s: the sender left %d alerts of group %.200r out of its notification (its max_alerts); %d came",
        printable(record.topic, 256), record.partition, record.offset, group.truncated_alerts,
        printable(group.key or "", 200), len(alerts),
    )  # fmt: skip


async def process_all(
    records: Sequence[ConsumedRecord],
    routing: RoutingTable,
    max_bytes: int,
    parsers: Sequence[Parser] = PARSERS,
    traces: Sequence[Mapping[str, str]] | None = None,
    max_alerts: int = DEFAULT_MAX_ALERTS_PER_RECORD,
) -> list[Outcome]:
    """``process`` for each record of a batch (``traces[i]`` the trace headers of record ``i``), never holding the
    event loop for long: the consumer's heartbeats, the group-flush timer and the health endpoint run on it too.

    The loop is handed back after each record, and a record larger than ``THREADED_RECORD_BYTES`` (up to
    ``max_alerts`` alerts, a second or more of work at the highest limits) is processed in a worker thread, which
    the interpreter switches away from every few milliseconds, so the loop keeps running while it is read.
    """
    outcomes = []
    for index, record in enumerate(records):
        trace = traces[index] if traces is not None else None
        if len(record.value) > THREADED_RECORD_BYTES:
            outcome = await asyncio.to_thread(process, record, routing, max_bytes, parsers, trace, max_alerts)
        else:
            outcome = process(record, routing, max_bytes, parsers, trace, max_alerts)
            await asyncio.sleep(0)
        outcomes.append(outcome)
    return outcomes


def _build(
    alert: Alert, route: Route, at: datetime, max_bytes: int, trace: Mapping[str, str]
) -> ReadyTrigger | Failure:
    what = f"trigger for alert {alert.name[:200]!r} (route {route.name})"
    try:
        event = trigger(alert, route.name, route.workflow, route.inputs, at)
        if route.on_resolved_finished != "ignore":  # the orchestrator's choice when the firing run is over
            event = event.model_copy(update={"data": event.data.model_copy(update={"on_resolved_finished": "start"})})
    except Exception as error:
        return _unexpected(TRIGGER_STAGE, f"building the {what}", error, alert.source)
    try:
        body = event.to_json()
    except (orjson.JSONEncodeError, ValueError) as error:
        # A payload nested deeper than pydantic (about 255 levels) or orjson (255) will write, though orjson
        # reads up to 1024.
        return Failure(TRIGGER_STAGE, f"{what} cannot be serialized: {error}", alert.source)
    problem = undecodable(body)
    if problem is not None:
        return Failure(TRIGGER_STAGE, f"{what} could not be decoded by the orchestrator: {problem}", alert.source)
    key, headers = event.data.idempotency_key.encode("utf-8"), event.kafka_headers()
    if trace:
        headers.update(trace)
        headers[BAGGAGE] = correlation_baggage(event.correlationid)
    size = record_size(key, body, headers)
    if size > max_bytes:
        return Failure(
            TRIGGER_STAGE,
            f"{what} is {size} bytes, over the {max_bytes}-byte limit (KAFKA_MAX_MESSAGE_BYTES)",
            alert.source,
        )
    return ReadyTrigger(event=event, key=key, body=body, headers=headers)


def undecodable(body: bytes) -> str | None:
    """Why the orchestrator could not decode this trigger (``WorkflowTrigger.from_json``), or None when it can.

    A trigger that fails there is dead-lettered here instead, with the original bytes rather than only the trigger.
    ``body`` is a validated ``WorkflowTrigger`` as ``to_json`` wrote it, so the one way its decoding can fail is
    nesting deeper than pydantic's JSON reader goes (about 200 levels; orjson writes up to 255). Every level opens
    with ``{`` or ``[``, so a body with fewer of them than ``SURELY_DECODABLE_BRACKETS`` cannot be too deep and needs
    no decoding (a tenth of the pipeline's time per alert); any other is decoded exactly as the orchestrator will.
    """
    if body.count(b"{") + body.count(b"[") < SURELY_DECODABLE_BRACKETS:
        return None
    try:
        WorkflowTrigger.from_json(body)
    except ValidationError as error:
        return str(error)
    return None


def _unexpected(stage: str, step: str, error: Exception, source: str | None) -> Failure:
    """A failure no check foresaw: probably a bug, so loud in the log, but still only this record's."""
    log.error("unexpected error %s (stage %s); the record is dead-lettered", step, stage, exc_info=error)
    return Failure(stage, f"unexpected error {step}: {type(error).__name__}: {error}", source)


def trigger(alert: Alert, route: str, workflow: str, inputs: dict[str, object], at: datetime) -> WorkflowTrigger:
    """The trigger event for one alert and one route; ids derive from the alert, so redelivery is a no-op."""
    occurred = occurrence(alert)
    key = idempotency_key(alert, workflow, occurred)
    alert_id = alert_event_id(alert, occurred)
    return WorkflowTrigger(
        id=trigger_event_id(key),
        source=EVENT_SOURCE,
        time=at,
        subject=workflow,
        correlationid=alert_id,
        causationid=alert_id,
        data=Trigger(workflow=workflow, idempotency_key=key, route=route, inputs=dict(inputs), alert=alert),
    )
