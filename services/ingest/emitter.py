"""Publishes a pipeline ``Outcome``: every trigger, then the record's one dead letter if anything failed."""

from __future__ import annotations

import logging

from services.ingest.pipeline import PUBLISH_STAGE, Failure, Outcome, dead_letter_cause
from services.shared.consuming import DeadLetters, Publisher, publish_durably
from services.shared.deadletter import ConsumedRecord
from services.shared.retry import Backoff, is_permanent

log = logging.getLogger("services.ingest")


class Emitter:
    """Writes triggers (keyed by idempotency key) and dead letters (keyed by the original key).

    The broker is built with acks=all, so a returned publish is durable; ``emit`` returning means the whole
    outcome is written and the input may be committed. It raises only while Kafka is unavailable past the retry
    budget: the input must then not be committed. A trigger Kafka refuses for good (too large) is not retried:
    it becomes part of the record's dead letter.
    """

    def __init__(self, triggers: Publisher, dead_letters: DeadLetters, backoff: Backoff) -> None:
        self._triggers, self._dead_letters, self._backoff = triggers, dead_letters, backoff

    async def emit(self, record: ConsumedRecord, outcome: Outcome) -> None:
        failures = list(outcome.failures)
        for ready in outcome.triggers:
            key = ready.event.data.idempotency_key
            try:
                await publish_durably(
                    self._triggers, ready.key, ready.body, ready.headers, f"publishing trigger {key}", self._backoff
                )
            except Exception as error:
                if not is_permanent(error):
                    raise
                failures.append(Failure(PUBLISH_STAGE, f"Kafka refused trigger {key}: {error!r}"))
                continue
            log.info(
                "routed alert %.200r to workflow %s (key %s)", ready.event.data.alert.name, ready.event.subject, key
            )
        if failures:
            cause = dead_letter_cause(failures)
            await self._dead_letters.write(record, cause.stage, cause.reason)
