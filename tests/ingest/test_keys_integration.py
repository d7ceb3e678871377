"""Event identity through the running ingest app and the real (embedded Tansu) broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from schemas import WorkflowTrigger
from services.ingest.app import build_app
from services.ingest.config import IngestSettings
from tests.ingest.kafka_io import create_topics, fresh_ingest_settings, produce, read

pytestmark = pytest.mark.integration


@pytest.fixture
async def ingest(kafka_bootstrap: str) -> AsyncIterator[IngestSettings]:
    """The ingest app on fresh topics with the dedup window off: these tests are about keys, and the window would
    (rightly) hold back the second detection of the same host (tests/ingest/test_noise_integration.py)."""
    settings = fresh_ingest_settings(kafka_bootstrap).model_copy(update={"dedup_window_s": 0})
    await create_topics(kafka_bootstrap, settings.topics)
    app, _ = build_app(settings)
    await app.start()
    try:
        yield settings
    finally:
        await app.stop()


def _cloudevent(event_id: str) -> bytes:
    """Two detections on one host: same source, type and subject, no time; only the id differs."""
    return orjson.dumps({
        "specversion": "1.0", "id": event_id, "source": "/edr/sensor/host-42", "type": "com.example.edr.detection",
        "subject": "host-42", "data": {"severity": "high", "title": "Suspicious PowerShell download cradle"},
    })  # fmt: skip


async def test_distinct_cloudevents_trigger_twice_and_a_redelivery_keeps_its_key(
    ingest: IngestSettings,
    kafka_bootstrap: str,
) -> None:
    raw, headers = ingest.topics.raw, [("content-type", b"application/cloudevents+json")]
    await produce(kafka_bootstrap, raw, _cloudevent("det-1"), headers=headers)
    await produce(kafka_bootstrap, raw, _cloudevent("det-2"), headers=headers)
    await produce(kafka_bootstrap, raw, _cloudevent("det-1"), headers=headers)  # the sender resends det-1
    event = orjson.loads(_cloudevent("det-1"))  # and once more in binary mode: attributes as ce_* headers
    binary = [(f"ce_{name}", str(value).encode()) for name, value in event.items() if name != "data"]
    await produce(
        kafka_bootstrap, raw, orjson.dumps(event["data"]), headers=[*binary, ("content-type", b"application/json")]
    )

    records = await read(kafka_bootstrap, ingest.topics.triggers, 4)
    first, second, again, binary_again = (WorkflowTrigger.from_json(record.value) for record in records)
    assert first.data.idempotency_key != second.data.idempotency_key
    assert first.id != second.id and first.correlationid != second.correlationid
    assert again.data.idempotency_key == first.data.idempotency_key == records[0].key.decode()
    assert (again.id, again.correlationid) == (first.id, first.correlationid)
    assert binary_again.data.idempotency_key == first.data.idempotency_key and binary_again.id == first.id
    assert [t.data.alert.event_id for t in (first, second, again)] == ["det-1", "det-2", "det-1"]
