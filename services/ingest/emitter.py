"""Publishes a pipeline ``Outcome``: every trigger and dead letter, each acknowledged before the next."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from schemas.cloudevent import CloudEvent
from services.ingest.pipeline import Outcome
from services.shared.retry import Backoff, with_backoff

log = logging.getLogger("services.ingest")


class Publisher(Protocol):
    """What ``broker.publisher(topic)`` gives: publish bytes with a key and headers, return once acknowledged."""

    async def publish(self, message: Any, *, key: bytes | None = ..., headers: dict[str, str] | None = ...) -> Any: ...


class Emitter:
    """Writes triggers (keyed by idempotency key) and dead letters (keyed by the original key).

    The broker is built with acks=all, so a returned publish is durable; ``emit`` returning means the whole
    outcome is written and the input may be committed. If it raises, the input must not be committed.
    """

    def __init__(self, triggers: Publisher, dead_letters: Publisher, backoff: Backoff) -> None:
        self._triggers, self._dead_letters, self._backoff = triggers, dead_letters, backoff

    async def emit(self, outcome: Outcome) -> None:
        for trigger in outcome.triggers:
            key = trigger.data.idempotency_key
            await self._publish(self._triggers, trigger, key.encode("utf-8"), f"publishing trigger {key}")
            log.info("routed alert %r to workflow %s (key %s)", trigger.data.alert.name, trigger.subject, key)
        for letter in outcome.dead_letters:
            data = letter.data
            await self._publish(self._dead_letters, letter, data.original_key, f"publishing dead letter {letter.id}")
            log.warning(
                "dead letter %s (%s@%s/%s): %s",
                data.stage, data.original_topic, data.original_partition, data.original_offset, data.reason,
            )  # fmt: skip

    async def _publish(self, publisher: Publisher, event: CloudEvent, key: bytes | None, what: str) -> Any:
        body, headers = event.to_json(), event.kafka_headers()
        return await with_backoff(lambda: publisher.publish(body, key=key, headers=headers), what, self._backoff)
