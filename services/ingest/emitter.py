"""Publishes a batch of pipeline ``Outcome``s: every trigger of every record, then a dead letter per failure (the
whole record's, or each failed alert's of a group, the record's bytes kept once); returns once all of it is durable
(acks=all), so the batch may be committed."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from services.ingest.pipeline import PUBLISH_STAGE, SERVICE, Failure, Outcome, ReadyTrigger
from services.shared import metrics
from services.shared.backoff import Backoff
from services.shared.consuming import DeadLetterOrder, DeadLetters, Outgoing, Publisher, publish_all_durably
from services.shared.deadletter import ConsumedRecord
from services.shared.tracing import dead_letter_headers

log = logging.getLogger("services.ingest")


class Emitter:
    """Writes triggers (keyed by idempotency key) and dead letters (keyed by the original key).

    The whole batch is produced without waiting for each record's acknowledgement, then every acknowledgement is
    awaited: a returned ``emit_batch`` means everything it was given is durable and the batch may be committed.
    It raises only while Kafka is unavailable past the retry budget: the batch must then not be committed (it is
    read again; the triggers already written are idempotent). A trigger Kafka refuses for good (too large) is not
    retried: it becomes a dead letter, and the neighbours are unaffected.

    Each failure is its own dead letter, so each failed alert of a group can be found, read and replayed on its
    own. The record's bytes are written once: the first letter of a record carries them, its other letters name
    that one (``original_in``) and carry the failed alert's own JSON (``alert_element``).
    """

    def __init__(self, triggers: Publisher, dead_letters: DeadLetters, backoff: Backoff, *, final: bool = True) -> None:
        """``final``: what it writes are the triggers themselves (stage 2), counted in
        ``alertmesh_triggers_total``; stage 1's routed records are not triggers yet and are not counted."""
        self._triggers, self._dead_letters, self._backoff = triggers, dead_letters, backoff
        self._final = final
        #: Alerts dropped by ``default: drop`` since this emitter started.
        self.dropped = 0

    async def emit(self, record: ConsumedRecord, outcome: Outcome) -> None:
        """``emit_batch`` for one record."""
        await self.emit_batch([(record, outcome)])

    async def emit_batch(self, batch: Sequence[tuple[ConsumedRecord, Outcome]]) -> None:
        """Write the batch's triggers, then the dead letters of its failed records (with any trigger Kafka refused);
        returns once all of it is durable, raises ``GaveUp`` while Kafka is unavailable past the retry budget."""
        sent: list[tuple[int, ReadyTrigger]] = [
            (index, ready) for index, (_, outcome) in enumerate(batch) for ready in outcome.triggers
        ]
        messages = [
            Outgoing(ready.key, ready.body, ready.headers, f"trigger {ready.event.data.idempotency_key}")
            for _, ready in sent
        ]
        refused = await publish_all_durably(self._triggers, messages, self._backoff, service=SERVICE)
        failures = [list(outcome.failures) for _, outcome in batch]
        for (index, ready), error in zip(sent, refused, strict=True):
            key = ready.event.data.idempotency_key
            if error is not None:
                failures[index].append(ready.failure(PUBLISH_STAGE, f"Kafka refused trigger {key}: {error!r}"))
                continue
            if self._final:
                metrics.count_trigger(ready.event.data.route, ready.event.data.workflow)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "routed alert %.200r to workflow %s (key %s)", ready.event.data.alert.name, ready.event.subject, key
                )
        orders = [
            _order(record, failure, dead_letter_headers(outcome.trace))
            for (record, outcome), reasons in zip(batch, failures, strict=True)
            for failure in reasons
        ]
        if orders:
            await self._dead_letters.write_all(orders)
        # One line per batch: a line per alert would cost more than routing it at thousands of alerts a second
        # (each routed alert is logged at DEBUG).
        log.info(
            "%d records: %d triggers written, %d dead letters",
            len(batch), len(messages) - sum(error is not None for error in refused), len(orders),
        )  # fmt: skip
        self._count_dropped([drop for _, outcome in batch for drop in outcome.dropped])

    def _count_dropped(self, dropped: Sequence[Failure]) -> None:
        """Count and log the alerts the routing file's ``default: drop`` dropped (a line per batch, one reason)."""
        if not dropped:
            return
        self.dropped += len(dropped)
        log.info(
            "%d alerts dropped (%d since start; no route matched and the routing file says default: drop), e.g. %s",
            len(dropped), self.dropped, dropped[0].reason,
        )  # fmt: skip
        for drop in dropped[1:]:
            log.debug("dropped: %s", drop.reason)


def _order(record: ConsumedRecord, failure: Failure, trace: dict[str, str]) -> DeadLetterOrder:
    """The dead letter of one failure of ``record``; the record's first letter keeps its bytes for all of them."""
    return DeadLetterOrder(
        record, failure.stage, failure.reason, alert_source=failure.source, headers=trace, alert=failure.alert,
        original_once=True,
    )  # fmt: skip
