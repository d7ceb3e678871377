"""The ingest pipeline as a pure function: one raw Kafka record in, the events to publish out. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schemas.alert import Alert
from schemas.deadletter import DeadLetter
from schemas.trigger import Trigger, WorkflowTrigger
from services.ingest.keys import alert_event_id, idempotency_key, trigger_event_id
from services.ingest.parsers import ParseError, parse_alerts
from services.ingest.routing import RoutingTable
from services.shared.deadletter import ConsumedRecord, dead_letter

#: CloudEvents ``source`` of every event ingest emits.
EVENT_SOURCE = "alertmesh/ingest"
PARSE_STAGE = "ingest.parse"
ROUTE_STAGE = "ingest.route"


@dataclass(frozen=True)
class Outcome:
    """What to publish for one record: a trigger per routed alert, a dead letter per failure."""

    triggers: list[WorkflowTrigger] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def process(record: ConsumedRecord, routing: RoutingTable) -> Outcome:
    """Parse, normalize and route one record.

    An unparseable record gives one ``ingest.parse`` dead letter. In a group (several alerts in one message)
    each alert is routed on its own: routed ones give triggers, unrouted ones an ``ingest.route`` dead letter
    carrying the whole original message (replaying it re-sends the routed triggers, which are idempotent).
    """
    try:
        alerts = parse_alerts(record.value, record.headers)
    except ParseError as error:
        return Outcome(dead_letters=[dead_letter(record, source=EVENT_SOURCE, stage=PARSE_STAGE, reason=error.reason)])
    outcome = Outcome()
    for alert in alerts:
        routes = routing.match(alert)
        if not routes:
            reason = (
                f"no route matches alert {alert.name!r} (source={alert.source}, status={alert.status}, "
                f"severity={alert.severity}, fingerprint={alert.fingerprint})"
            )
            outcome.dead_letters.append(dead_letter(record, source=EVENT_SOURCE, stage=ROUTE_STAGE, reason=reason))
        for route in routes:
            outcome.triggers.append(trigger(alert, route.name, route.workflow, route.inputs, record.received_at))
    return outcome


def trigger(alert: Alert, route: str, workflow: str, inputs: dict[str, object], at: datetime) -> WorkflowTrigger:
    """The trigger event for one alert and one route; ids derive from the alert, so redelivery is a no-op."""
    key = idempotency_key(alert, workflow)
    alert_id = alert_event_id(alert)
    return WorkflowTrigger(
        id=trigger_event_id(key),
        source=EVENT_SOURCE,
        time=at,
        subject=workflow,
        correlationid=alert_id,
        causationid=alert_id,
        data=Trigger(workflow=workflow, idempotency_key=key, route=route, inputs=dict(inputs), alert=alert),
    )
