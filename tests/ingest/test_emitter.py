import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka.errors import MessageSizeTooLargeError

from schemas import DeadLetter
from services.ingest.emitter import Emitter
from services.ingest.pipeline import EVENT_SOURCE, Outcome, process
from services.ingest.routing import RoutingTable
from services.shared.backoff import Backoff, GaveUp
from services.shared.consuming import DeadLetters
from services.shared.deadletter import MIN_DEAD_LETTER_BYTES, AlertOfRecord, ConsumedRecord, dead_letter

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


async def test_each_failed_alert_of_a_group_is_its_own_letter_and_the_original_is_kept_once() -> None:
    """Alert 0 is not an alert (no alertname), alert 1 becomes a trigger, alert 2 breaks the trigger size limit."""
    bad = {"status": "firing", "labels": {"severity": "critical"}}
    good = {"status": "firing", "labels": {"alertname": "Good", "severity": "critical"}}
    huge = {"status": "firing", "labels": {"alertname": "Huge"}, "annotations": {"description": "x" * 5000}}
    body = orjson.dumps({"version": "4", "alerts": [bad, good, huge]})
    record = _record(body)
    outcome = process(record, ROUTING, 4000)
    triggers, dlq = RecordingPublisher(), RecordingPublisher()
    await _emitter(triggers, dlq).emit(record, outcome)
    assert len(triggers.sent) == 1
    first, second = (DeadLetter.from_json(sent) for sent, _, _ in dlq.sent)
    assert (first.data.alert_index, first.data.alert_name, first.data.stage) == (0, None, "parse")
    assert first.data.original == body and first.data.original_in is None
    assert orjson.loads(first.data.alert_element or b"") == bad
    assert (second.data.alert_index, second.data.alert_name, second.data.stage) == (2, "Huge", "validate")
    assert second.data.reason.startswith("alerts[2]: ")
    # The record's bytes once: the second letter names the first and describes the whole value.
    assert second.data.original == b"" and second.data.original_in == first.id
    assert (second.data.original_size, second.data.original_sha256) == (
        first.data.original_size,
        first.data.original_sha256,
    )
    assert (second.data.original_partition, second.data.original_offset) == (None, 1) and not second.data.truncated
    assert orjson.loads(second.data.alert_element or b"")["labels"]["alertname"] == "Huge"
    assert first.id != second.id
    # Read again (redelivery): the same letters, the same ids.
    again = RecordingPublisher()
    await _emitter(RecordingPublisher(), again).emit(record, process(record, ROUTING, 4000))
    assert [key for _, key, _ in again.sent] == [key for _, key, _ in dlq.sent]
    assert [DeadLetter.from_json(sent).id for sent, _, _ in again.sent] == [first.id, second.id]


async def test_two_records_of_a_batch_each_keep_their_own_original() -> None:
    bad = {"status": "firing", "labels": {}}
    records = [_record(orjson.dumps({"version": "4", "alerts": [bad, bad], "n": n})) for n in range(2)]
    dlq = RecordingPublisher()
    await _emitter(RecordingPublisher(), dlq).emit_batch([(record, _outcome(record)) for record in records])
    letters = [DeadLetter.from_json(sent) for sent, _, _ in dlq.sent]
    assert [letter.data.alert_index for letter in letters] == [0, 1, 0, 1]
    assert [letter.data.original for letter in letters] == [records[0].value, b"", records[1].value, b""]
    assert [letter.data.original_in for letter in letters] == [None, letters[0].id, None, letters[2].id]


def test_a_letter_whose_original_another_carries_stays_without_it_when_cut() -> None:
    """Cut to fit (many large headers), a letter naming the carrier of its record's bytes never gets a piece of them."""
    record = ConsumedRecord(
        value=b"v" * 30_000, headers={f"h{n}": "x" * 250 for n in range(64)}, topic="raw",
        received_at=datetime.now(UTC), offset=3, key=b"k",
    )  # fmt: skip
    letter = dead_letter(
        record, source=EVENT_SOURCE, stage="route", reason="alerts[1]: no route", max_bytes=MIN_DEAD_LETTER_BYTES,
        original_in="carrier", alert=AlertOfRecord(1, "Disk", b"{}"),
    )  # fmt: skip
    assert letter.data.original == b"" and letter.data.original_in == "carrier"
    assert letter.data.original_size == 30_000 and letter.data.alert_index == 1


async def test_only_the_final_stage_counts_its_records_as_triggers(alertmanager_bytes: bytes) -> None:
    from prometheus_client import REGISTRY

    def counted() -> float:
        labels = {"route": "all", "workflow": "triage"}
        return REGISTRY.get_sample_value("alertmesh_triggers_total", labels) or 0.0

    record = _record(alertmanager_bytes)
    before = counted()
    dead_letters = DeadLetters(RecordingPublisher(), source=EVENT_SOURCE, max_bytes=LIMIT, backoff=FAST)
    await Emitter(RecordingPublisher(), dead_letters, FAST, final=False).emit(record, _outcome(record))
    assert counted() == before  # stage 1's routed record is not a trigger yet
    await _emitter(RecordingPublisher(), RecordingPublisher()).emit(record, _outcome(record))
    assert counted() == before + 1
