"""What travels on each topic, and who writes and reads it: the facts the AsyncAPI document is generated from.

Names, event types and header names are taken from the code that uses them (``TopicSettings``' defaults,
``schemas.EVENTS``, ``CloudEvent.kafka_headers``, the parsers' header names), so renaming one there changes the
document, and the staleness test then asks for it to be regenerated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas import EVENTS
from schemas.cloudevent import STRUCTURED_CONTENT_TYPE
from schemas.sources import SOURCE_HEADER
from services.ingest.parsers.cloudevents import HEADER_PREFIX as CLOUDEVENTS_HEADER_PREFIX
from services.shared.topics import TopicSettings

#: The topic names as shipped (``model_construct``: the document must not depend on this shell's ALERTMESH_TOPIC_*).
DEFAULT_TOPICS = TopicSettings.model_construct()

#: Message headers, by name: (JSON Schema of the value, description). Values are UTF-8 text on the wire.
Headers = dict[str, tuple[dict[str, Any], str]]

#: W3C trace context and baggage, as the CloudEvents distributed-tracing extension names them; written by every
#: alertmesh producer when tracing is on, read by every alertmesh consumer to continue the alert's trace.
TRACE_HEADERS: Headers = {
    "traceparent": ({"type": "string"}, "W3C trace context of the span that wrote the record (when tracing is on)."),
    "tracestate": ({"type": "string"}, "W3C tracestate, when the trace has one."),
    "baggage": (
        {"type": "string"},
        "W3C baggage; carries `alertmesh.correlation_id` so every hop's log lines name the alert.",
    ),
}

#: What every structured CloudEvent alertmesh writes carries (``CloudEvent.kafka_headers``).
EVENT_HEADERS: Headers = {
    "content-type": ({"const": STRUCTURED_CONTENT_TYPE}, "CloudEvents structured mode: the value is the event."),
    "ce_type": ({"type": "string"}, "The event's versioned type, to route without parsing the value."),
    "ce_id": ({"type": "string"}, "The event's id."),
    "correlationid": ({"type": "string"}, "The first alert's event id, carried through every hop."),
    **TRACE_HEADERS,
}

#: What the webhook bridge writes with a raw body; any other producer may set them too.
RAW_HEADERS: Headers = {
    SOURCE_HEADER: (
        {"type": "string"},
        "The alert source (the webhook path's `{source}`); overrides the source the parser infers and selects the "
        "source's field map.",
    ),
    "content-type": ({"type": "string"}, "The body's media type as the sender gave it."),
    f"{CLOUDEVENTS_HEADER_PREFIX}*": (
        {"type": "string"},
        "CloudEvents binary mode: the event's attributes (`ce_specversion`, `ce_id`, `ce_source`, `ce_type`, ...); "
        "the value is then the event's data. Ignored when `content-type` is `application/cloudevents+json` or "
        "`application/cloudevents-batch+json`: the value is then the event, or a JSON array of events.",
    ),
    **TRACE_HEADERS,
}


@dataclass(frozen=True)
class Participant:
    """A service or tool that writes or reads topics; ``client`` is its Kafka client id or consumer group."""

    name: str
    description: str
    client: str | None = None


WEBHOOK = Participant(
    "webhook", "The webhook bridge: `POST /v1/alerts/{source}`, written with acks=all.", "alertmesh-webhook"
)
INGEST = Participant(
    "ingest",
    "The ingest consumer, two stages: parse, normalize, route (group `alertmesh-ingest`), then noise control "
    "(group `alertmesh-ingest-decide`).",
    "alertmesh-ingest",
)
ORCHESTRATOR = Participant(
    "orchestrator", "Starts a DSLWorkflow per trigger and publishes each run's result.", "alertmesh-orchestrator"
)
OPERATOR = Participant(
    "operator",
    "The `alertmesh` command: `publish`, `results`, `dlq list`, `dlq replay`, `silence`, `status`, `route --live`.",
)
EXTERNAL = Participant("external", "Any Kafka client of yours: an alert source, a result or dead-letter consumer.")


@dataclass(frozen=True)
class Use:
    """One participant's use of a topic: ``send`` (it writes) or ``receive`` (it reads), and what for."""

    participant: Participant
    action: str
    description: str


@dataclass(frozen=True)
class TopicContract:
    """One topic: its address, the message on it, its key and headers, and its writers and readers."""

    name: str
    address: str
    description: str
    message_title: str
    #: The ``schemas.EVENTS`` type of the value, or None when the value is not an alertmesh event.
    event_type: str | None
    #: The value's JSON Schema when it is not an alertmesh event (raw vendor payloads, ingest's state).
    value_schema: dict[str, Any] | None
    key_description: str
    key_schema: dict[str, Any]
    headers: Headers
    uses: tuple[Use, ...] = field(default_factory=tuple)


def _event(event_type: str) -> str:
    if event_type not in EVENTS:  # a renamed type must not leave the document pointing at nothing
        raise KeyError(f"{event_type} is not in schemas.EVENTS")
    return event_type


TOPICS: tuple[TopicContract, ...] = (
    TopicContract(
        name="rawAlerts",
        address=DEFAULT_TOPICS.raw,
        description="Alerts as sources send them: Alertmanager or Grafana webhook JSON, generic JSON (mapped by "
        "field maps), CloudEvents in structured or binary mode, or NDJSON lines from the webhook.",
        message_title="RawAlert",
        event_type=None,
        value_schema={
            "description": "Vendor JSON (one document per record); ingest dead-letters what it cannot read.",
        },
        key_description="Optional; ingest does not read it. Records with the same key stay in order.",
        key_schema={"type": ["string", "null"]},
        headers=RAW_HEADERS,
        uses=(
            Use(WEBHOOK, "send", "Each accepted request body (or NDJSON line), after Kafka acknowledged it."),
            Use(EXTERNAL, "send", "Any producer may write alerts here directly."),
            Use(OPERATOR, "send", "`alertmesh publish FILE`; `alertmesh dlq replay` sends dead originals back."),
            Use(
                INGEST,
                "receive",
                "Consumer group `alertmesh-ingest` (stage 1); offsets committed after the batch's routed records, "
                "alerts-table rows and dead letters were acknowledged.",
            ),
        ),
    ),
    TopicContract(
        name="routed",
        address=DEFAULT_TOPICS.routed,
        description="Internal: ingest's routed triggers between its two stages, re-keyed by the noise-control "
        "state they touch, so every repeat, resolution and group member meets on one partition.",
        message_title="RoutedTrigger",
        event_type=_event("alertmesh.trigger.v1"),
        value_schema=None,
        key_description='A JSON array: `[source, fingerprint]`, or `["group", route, group id]` for a route '
        "with `group_by`.",
        key_schema={"type": "string", "contentMediaType": "application/json"},
        headers=EVENT_HEADERS,
        uses=(
            Use(INGEST, "send", "Stage 1, acks=all, before the raw offsets are committed."),
            Use(
                INGEST,
                "receive",
                "Stage 2, consumer group `alertmesh-ingest-decide`; offsets committed after the triggers and the "
                "noise state were acknowledged.",
            ),
        ),
    ),
    TopicContract(
        name="triggers",
        address=DEFAULT_TOPICS.triggers,
        description="One trigger per routed alert: which workflow to run, with the normalized alert and inputs.",
        message_title="WorkflowTrigger",
        event_type=_event("alertmesh.trigger.v1"),
        value_schema=None,
        key_description="The idempotency key (UTF-8), which is also the workflow id: a redelivered trigger finds "
        "its workflow already started.",
        key_schema={"type": "string"},
        headers=EVENT_HEADERS,
        uses=(
            Use(INGEST, "send", "Stage 2, acks=all, before the routed offset is committed."),
            Use(
                ORCHESTRATOR,
                "receive",
                "Consumer group `alertmesh-orchestrator`; offsets committed after "
                "Temporal accepted the start (or the dead letter was written).",
            ),
        ),
    ),
    TopicContract(
        name="results",
        address=DEFAULT_TOPICS.results,
        description="The outcome of every workflow run: status, each action's result, timings.",
        message_title="WorkflowResult",
        event_type=_event("alertmesh.result.v1"),
        value_schema=None,
        key_description="The workflow id (UTF-8). The event id is derived from workflow and run id, so a "
        "consumer can drop a redelivered duplicate.",
        key_schema={"type": "string"},
        headers=EVENT_HEADERS,
        uses=(
            Use(ORCHESTRATOR, "send", "The workflow's last step (the `publish_result` local activity)."),
            Use(OPERATOR, "receive", "`alertmesh results [--follow]`."),
            Use(EXTERNAL, "receive", "Any consumer of outcomes (ticketing, chat, audit)."),
        ),
    ),
    TopicContract(
        name="deadLetters",
        address=DEFAULT_TOPICS.dlq,
        description="Input a stage could not handle (parse, validate, route, start, publish), with the reason and "
        "the original record's bytes, key and headers, to fix and replay it.",
        message_title="DeadLetter",
        event_type=_event("alertmesh.deadletter.v1"),
        value_schema=None,
        key_description="The original record's key (same partition order as the input), or none.",
        key_schema={"type": ["string", "null"]},
        headers=EVENT_HEADERS,
        uses=(
            Use(INGEST, "send", "Raw records it cannot parse, validate or route; triggers Kafka refused."),
            Use(ORCHESTRATOR, "send", "Triggers it cannot decode or start."),
            Use(OPERATOR, "receive", "`alertmesh dlq list` and `alertmesh dlq replay`."),
            Use(EXTERNAL, "receive", "Alerting on dead letters."),
        ),
    ),
    TopicContract(
        name="ingestState",
        address=DEFAULT_TOPICS.ingest_state,
        description="Ingest's own dedup and grouping state (compacted, `cleanup.policy=compact`); internal: only "
        "ingest reads it, to pick up a raw partition's state after a restart or a rebalance.",
        message_title="IngestStateEntry",
        event_type=None,
        value_schema={
            "description": "The entry's latest value, or no value (a tombstone) to forget the key.",
            "type": ["object", "null"],
        },
        key_description="A JSON array: the raw topic, the raw partition, then what the entry is about.",
        key_schema={"type": "string", "contentMediaType": "application/json"},
        headers={},
        uses=(
            Use(INGEST, "send", "Each state change, acks=all, before the raw offsets it covers are committed."),
            Use(INGEST, "receive", "Read from the start of a state partition when ingest is given a raw partition."),
        ),
    ),
    TopicContract(
        name="silences",
        address=DEFAULT_TOPICS.silences,
        description="Silences (compacted global table): every ingest and webhook replica reads it whole and "
        "follows it. The value is Alertmanager's silence JSON.",
        message_title="Silence",
        event_type=None,
        value_schema={
            "description": "`{id, matchers: [{name, value, isRegex, isEqual}], startsAt, endsAt, createdBy, "
            "comment, updatedAt}` (schemas.silence), or no value to forget the id.",
            "type": ["object", "null"],
        },
        key_description="The silence id (UTF-8).",
        key_schema={"type": "string"},
        headers={},
        uses=(
            Use(WEBHOOK, "send", "`POST /api/v2/silences`, `DELETE /api/v2/silence/{id}` (amtool, Grafana...)."),
            Use(OPERATOR, "send", "`alertmesh silence add|expire`."),
            Use(INGEST, "receive", "Read whole at start, then followed: stage 2 mutes what a silence matches."),
            Use(WEBHOOK, "receive", "Read whole: `GET /api/v2/silences`, and alerts' `silencedBy`."),
        ),
    ),
    TopicContract(
        name="alerts",
        address=DEFAULT_TOPICS.alerts,
        description="Every alert as last seen (compacted global table): labels, times, routes, and what muted "
        "it when it was read. Inhibition reads the firing ones; the Alertmanager API lists them.",
        message_title="AlertState",
        event_type=None,
        value_schema={
            "description": "schemas.alert_state.AlertState as JSON, or no value to forget the alert.",
            "type": ["object", "null"],
        },
        key_description="A JSON array: `[source, fingerprint]`.",
        key_schema={"type": "string", "contentMediaType": "application/json"},
        headers={},
        uses=(
            Use(INGEST, "send", "Stage 1, a row per alert read, acks=all, before the raw offsets are committed."),
            Use(INGEST, "receive", "Read whole at start, then followed: inhibition's firing sources."),
            Use(WEBHOOK, "receive", "`GET /api/v2/alerts` and `/api/v2/alerts/groups`."),
            Use(OPERATOR, "receive", "`alertmesh status`, `alertmesh route --live`."),
        ),
    ),
)
