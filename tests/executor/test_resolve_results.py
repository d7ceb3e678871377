"""Result consumers resolve stored results: ``resolve_json`` and ``alertmesh results --resolve`` (real broker)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from alertmesh.commands.results import print_results
from alertmesh.kafka_tools import ensure_topics
from services.shared.blobs import BlobError, LocalDirectoryStore, resolve_json, store_json
from services.shared.kafka import KafkaSettings


def event_with(result: object) -> bytes:
    return orjson.dumps({"type": "result", "data": {"actions": [{"ref": "big", "result": result}], "returns": result}})


def test_resolve_json_replaces_every_stored_object(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    document = event_with(store_json(["x" * 10, {"n": 1}], store))
    assert json.loads(resolve_json(document, store)) == json.loads(event_with(["x" * 10, {"n": 1}]))
    forged = event_with({"$stored": {"uri": "file:///etc/passwd", "size": 1, "sha256": "0" * 64}})
    with pytest.raises(BlobError):
        resolve_json(forged, store)


@pytest.mark.integration
async def test_results_resolve_prints_events_with_stored_results_inlined(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("EXECUTOR_BLOB_DIR", str(tmp_path))
    topic = f"results-{uuid.uuid4().hex[:8]}"
    await ensure_topics(KafkaSettings(bootstrap_servers=kafka_bootstrap), [topic], partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, event_with(store_json({"big": True}, LocalDirectoryStore(tmp_path))))
    finally:
        await producer.stop()
    assert await print_results(topic, follow=False, count=1, timeout_s=30, resolve=True) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["data"]["actions"][0]["result"] == {"big": True}
