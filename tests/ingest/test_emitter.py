from datetime import UTC, datetime
from typing import Any

from services.ingest.emitter import Emitter
from services.ingest.pipeline import process
from services.ingest.routing import RoutingTable
from services.shared.deadletter import ConsumedRecord
from services.shared.retry import Backoff

ROUTING = RoutingTable.model_validate({"routes": [{"name": "all", "workflow": "triage"}]})


class RecordingPublisher:
    """Collects what is published; fails the first ``failures`` calls like a broker that is down."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.sent = failures, list[tuple[bytes, bytes | None, dict[str, str]]]()

    async def publish(self, message: Any, *, key: bytes | None = None, headers: dict[str, str] | None = None) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("not leader")
        self.sent.append((message, key, headers or {}))


def _outcome(body: bytes) -> Any:
    record = ConsumedRecord(value=body, headers={}, topic="raw", received_at=datetime.now(UTC), offset=1, key=b"orig")
    return process(record, ROUTING)


async def test_triggers_are_keyed_by_idempotency_key_after_transient_failures(alertmanager_bytes: bytes) -> None:
    triggers, dlq = RecordingPublisher(failures=2), RecordingPublisher()
    outcome = _outcome(alertmanager_bytes)
    await Emitter(triggers, dlq, Backoff(initial_s=0.001, max_s=0.002)).emit(outcome)
    [(body, key, headers)] = triggers.sent
    assert key == outcome.triggers[0].data.idempotency_key.encode()
    assert body == outcome.triggers[0].to_json()
    assert headers["ce_type"] == "alertmesh.trigger.v1"
    assert dlq.sent == []


async def test_dead_letters_keep_the_original_key() -> None:
    triggers, dlq = RecordingPublisher(), RecordingPublisher()
    await Emitter(triggers, dlq, Backoff()).emit(_outcome(b"nope"))
    [(_, key, headers)] = dlq.sent
    assert key == b"orig"
    assert headers["ce_type"] == "alertmesh.deadletter.v1"
    assert triggers.sent == []
