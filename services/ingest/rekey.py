"""Between ingest's two stages: the routed record, keyed by what its noise-control state is keyed by.

Stage 1 (``normalize``) reads any raw partition, so it cannot hold state: a producer that does not key its records
(librdkafka's default) spreads one alert's repeats over every partition, and the webhook spreads a busy sender on
purpose. Like a Kafka Streams repartition, stage 1 writes each routed trigger to the internal routed topic with a
key that names its state, and stage 2 (``decide``) keeps that state per routed partition:

- a route with ``group_by``: the group (route and group id), so every member of a group meets on one partition;
- otherwise the alert (source and fingerprint), so its repeats (dedup, thresholds) and its resolution (which ends a
  silenced or inhibited hold) meet there.

The record's value is the trigger as the orchestrator will read it, so stage 2 decodes, never re-parses.
"""

from __future__ import annotations

import dataclasses

import orjson
from pydantic import ValidationError

from schemas.trigger import WorkflowTrigger
from services.ingest.noise.grouping import group_of
from services.ingest.pipeline import NOISE_STAGE, Failure, Outcome, ReadyTrigger
from services.ingest.routing import RoutingTable
from services.shared.deadletter import ConsumedRecord
from services.shared.tracing import TRACEPARENT, TRACESTATE


def routed_key(ready: ReadyTrigger, routing: RoutingTable) -> bytes:
    """The routed record's key: its group when its route groups, else its alert's source and fingerprint."""
    alert = ready.event.data.alert
    route = routing.by_name.get(ready.event.data.route)
    if route is not None and route.group_by:
        return orjson.dumps(["group", *group_of(route, alert)])
    return orjson.dumps([alert.source, alert.fingerprint])


def rekeyed(outcome: Outcome, routing: RoutingTable) -> Outcome:
    """``outcome`` with each trigger keyed for the routed topic (stage 1 writes it there, not to the triggers)."""
    if not outcome.triggers:
        return outcome
    triggers = [dataclasses.replace(ready, key=routed_key(ready, routing)) for ready in outcome.triggers]
    return dataclasses.replace(outcome, triggers=triggers)


def routed_outcome(record: ConsumedRecord, trace: dict[str, str]) -> tuple[ConsumedRecord, Outcome]:
    """Stage 2's reading of one routed record: its trigger (keyed by idempotency key again, carrying this stage's
    ``trace``), and the record as noise control sees it: stamped with the raw record's time (the trigger's
    ``time``), so windows and thresholds decide on a replay as they did live. A record that is not a trigger (a
    foreign producer on an internal topic) is a ``noise`` failure, its dead letter keeping its bytes."""
    try:
        event = WorkflowTrigger.from_json(record.value)
    except (ValidationError, ValueError) as error:
        reason = f"the routed record is not a trigger: {error}"
        return record, Outcome(failures=[Failure(NOISE_STAGE, reason, None)], trace=trace)
    headers = {name: value for name, value in record.headers.items() if name not in (TRACEPARENT, TRACESTATE)}
    if trace:
        headers.update(trace)  # the orchestrator's spans are children of this stage's (baggage is kept)
    ready = ReadyTrigger(event=event, key=event.data.idempotency_key.encode(), body=record.value, headers=headers)
    stamped = dataclasses.replace(record, received_at=event.time)
    return stamped, Outcome(triggers=[ready], trace=trace)
