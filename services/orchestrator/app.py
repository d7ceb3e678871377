"""The trigger consumer: one WorkflowTrigger message in, one durably started DSLWorkflow (or a dead letter) out.

The offset is committed (ack) only when the handler returns, i.e. after Temporal accepted the start or the dead
letter was written with acks=all. The handler only raises when cancelled (shutdown); NACK_ON_ERROR then seeks
back so the message is consumed again rather than committed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.publisher.usecase import DefaultPublisher as KafkaPublisher
from pydantic import ValidationError

from schemas import WorkflowTrigger
from services.orchestrator.config import OrchestratorSettings
from services.orchestrator.contracts import EVENT_SOURCE, DSLRun
from services.orchestrator.dsl.model import WorkflowDefinition
from services.orchestrator.starter import StartRejected, WorkflowStarter
from services.shared.deadletter import consumed_record, dead_letter
from services.shared.retry import Backoff, with_backoff

log = logging.getLogger(__name__)
MAX_REASON_CHARS = 4000


class TriggerConsumer:
    """Decodes a trigger, finds its workflow definition, and starts the run."""

    def __init__(
        self,
        definitions: Mapping[str, WorkflowDefinition],
        starter: WorkflowStarter,
        dlq: KafkaPublisher,
        action_task_queue: str,
    ) -> None:
        self._definitions = definitions
        self._starter = starter
        self._dlq = dlq
        self._action_task_queue = action_task_queue

    # The handler takes the raw KafkaMessage instead of a typed ``WorkflowTrigger`` body: FastStream would
    # reject an invalid body before our code runs (logged, then acked or retried forever), whereas decoding
    # here lets poison go to the dead-letter topic with its original bytes and the partition move on.
    async def handle(self, message: KafkaMessage) -> None:
        try:
            trigger = WorkflowTrigger.from_json(message.body)
        except ValidationError as error:
            await self._dead_letter(message, "orchestrator.decode", f"invalid WorkflowTrigger: {error}")
            return
        definition = self._definitions.get(trigger.data.workflow)
        if definition is None:
            known = ", ".join(sorted(self._definitions)) or "none"
            reason = f"unknown workflow '{trigger.data.workflow}' (loaded: {known})"
            await self._dead_letter(message, "orchestrator.start", reason, trigger)
            return
        run = DSLRun(definition=definition, trigger=trigger, action_task_queue=self._action_task_queue)
        try:
            outcome = await self._starter.start(run)
        except StartRejected as rejected:
            await self._dead_letter(message, "orchestrator.start", str(rejected), trigger)
            return
        if outcome == "duplicate":
            log.info("duplicate trigger %s: workflow %s already started", trigger.id, trigger.data.idempotency_key)
        else:
            log.info("started %s for trigger %s as %s", definition.name, trigger.id, trigger.data.idempotency_key)

    async def _dead_letter(
        self, message: KafkaMessage, stage: str, reason: str, trigger: WorkflowTrigger | None = None
    ) -> None:
        event = dead_letter(
            consumed_record(message),
            source=EVENT_SOURCE,
            stage=stage,
            reason=reason[:MAX_REASON_CHARS],
            correlationid=trigger.correlationid if trigger else None,
            causationid=trigger.id if trigger else None,
        )
        body, key, headers = event.to_json(), event.data.original_key, event.kafka_headers()
        # The offset is committed only once the dead letter is durable: wait out a Kafka outage (back-pressure).
        await with_backoff(
            lambda: self._dlq.publish(body, key=key, headers=headers),
            f"publishing dead letter {event.id}",
            Backoff(budget_s=None),
        )
        log.warning("dead-lettered trigger at offset %s: %s: %s", event.data.original_offset, stage, reason[:200])


def subscribe_triggers(broker: KafkaBroker, settings: OrchestratorSettings, consumer: TriggerConsumer) -> None:
    """Attach ``consumer`` to the triggers topic in the service's consumer group."""
    subscriber = broker.subscriber(
        settings.topics.triggers,
        group_id=settings.group_id,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        # A new group starts from the oldest trigger: nothing published before first start-up is lost.
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
    )
    subscriber(consumer.handle)
