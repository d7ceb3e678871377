import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError

from schemas import DeadLetter
from services.ingest.emitter import Emitter
from services.ingest.pipeline import EVENT_SOURCE, Outcome, process
from services.ingest.routing import RoutingTable
from services.shared.backoff import Backoff, GaveUp
from services.shared.consuming import DeadLetters
from services.shared.deadletter import ConsumedRecord

ROUTING = RoutingTable.model_validate({"routes": [{"name": "all", "workflow": "triage"}]})
LIMIT = 1_048_576
FAST = Backoff(initial_s=0.001, max_s=0.002, budget_s=0.05)


class RecordingPublisher:
    """Collects what is published; fails the first ``failures`` records like a broker that is down (through the
    acknowledgement, as aiokafka does), and refuses every record (permanently, at send) while ``refuse`` is set,
    like a producer over its size limit."""

    def __init__(self, failures: int = 0, refuse: bool = False) -> None:
        self.failures, self.refuse = failures, refuse
        self.sent = list[tuple[bytes, bytes | None, dict[str, str]]]()

    async def publish(
        self, message: Any, *, key: bytes | None = None, headers: dict[str, str] | None = None, no_confirm: bool = False
    ) -> asyncio.Future[None]:
        if self.refuse:
            raise MessageSizeTooLargeError("too large")
        acknowledged = asyncio.get_running_loop().create_future()
        if self.failures:
            self.failures -= 1
            acknowledged.set_exception(ConnectionError("not leader"))
        else:
            self.sent.append((message, key, headers or {}))
            acknowledged.set_result(None)
        return acknowledged


def _emitter(triggers: RecordingPublisher, dlq: RecordingPublisher) -> Emitter:
    return Emitter(triggers, DeadLetters(dlq, source=EVENT_SOURCE, max_bytes=LIMIT, backoff=FAST), FAST)


def _record(body: bytes) -> ConsumedRecord:
    return ConsumedRecord(value=body, headers={}, topic="raw", received_at=datetime.now(UTC), offset=1, key=b"orig")


def _outcome(record: ConsumedRecord) -> Outcome:
    return process(record, ROUTING, LIMIT)


async def test_triggers_are_keyed_by_idempotency_key_after_transient_failures(alertmanager_bytes: bytes) -> None:
    triggers, dlq = RecordingPublisher(failures=2), RecordingPublisher()
    record = _record(alertmanager_bytes)
    outcome = _outcome(record)
    await _emitter(triggers, dlq).emit(record, outcome)
    [(body, key, headers)] = triggers.sent
    assert key == outcome.triggers[0].event.data.idempotency_key.encode()
    assert body == outcome.triggers[0].event.to_json()
    assert headers["ce_type"] == "alertmesh.trigger.v1"
    assert dlq.sent == []


async def test_dead_letters_keep_the_original_key() -> None:
    triggers, dlq = RecordingPublisher(), RecordingPublisher()
    record = _record(b"nope")
    await _emitter(triggers, dlq).emit(record, _outcome(record))
    [(_, key, headers)] = dlq.sent
    assert key == b"orig"
    assert headers["ce_type"] == "alertmesh.deadletter.v1"
    assert triggers.sent == []


async def test_a_trigger_kafka_refuses_for_good_becomes_the_records_dead_letter(alertmanager_bytes: bytes) -> None:
    triggers, dlq = RecordingPublisher(refuse=True), RecordingPublisher()
    record = _record(alertmanager_bytes)
    await _emitter(triggers, dlq).emit(record, _outcome(record))
    [(body, _, _)] = dlq.sent
    letter = DeadLetter.from_json(body)
    assert letter.data.stage == "publish"
    assert "Kafka refused trigger triage:alertmanager:" in letter.data.reason
    assert letter.data.original == alertmanager_bytes


async def test_kafka_down_past_the_budget_raises_so_nothing_is_committed(alertmanager_bytes: bytes) -> None:
    triggers, dlq = RecordingPublisher(failures=10_000), RecordingPublisher()
    record = _record(alertmanager_bytes)
    with pytest.raises(GaveUp):
        await _emitter(triggers, dlq).emit(record, _outcome(record))
    assert dlq.sent == []


async def test_a_dead_letter_the_broker_refuses_is_written_again_cut_to_the_minimum() -> None:
    class SmallBroker(RecordingPublisher):
        async def publish(
            self,
            message: Any,
            *,
            key: bytes | None = None,
            headers: dict[str, str] | None = None,
            no_confirm: bool = False,
        ) -> asyncio.Future[None]:
            if len(message) > 20_000:
                raise MessageSizeTooLargeError("broker limit")
            return await super().publish(message, key=key, headers=headers)

    triggers, dlq = RecordingPublisher(), SmallBroker()
    record = _record(b"x" * 500_000)
    await _emitter(triggers, dlq).emit(record, _outcome(record))
    [(body, _, _)] = dlq.sent
    letter = DeadLetter.from_json(body)
    assert letter.data.truncated and letter.data.original_size == 500_000
    assert letter.data.original == b"x" * len(letter.data.original)
