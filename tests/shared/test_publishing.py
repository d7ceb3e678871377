"""One way to publish: every service writes through ``ProducerPublisher``, and only ``services.shared.kafka``
reaches into FastStream's private attributes to do it."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.shared.kafka import KafkaSettings, ProducerPublisher

SERVICES = Path(__file__).resolve().parents[2] / "services"
THE_ONE_PLACE = SERVICES / "shared" / "kafka.py"


def _calls_and_private_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "publisher":
            found.append(f"{path.relative_to(SERVICES.parent)}:{node.lineno}: .publisher(...)")
        if isinstance(node, ast.Constant) and node.value == "_producer":
            found.append(f"{path.relative_to(SERVICES.parent)}:{node.lineno}: reads _producer")
        # A class's own ``self._producer`` (an aiokafka producer it made) is its business; anyone else's is not.
        own = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
        if isinstance(node, ast.Attribute) and node.attr == "_producer" and not own:
            found.append(f"{path.relative_to(SERVICES.parent)}:{node.lineno}: reads ._producer")
    return found


def test_no_service_builds_a_faststream_publisher_or_reads_the_producer_itself() -> None:
    found = [line for path in sorted(SERVICES.rglob("*.py")) if path != THE_ONE_PLACE
             for line in _calls_and_private_reads(path)]  # fmt: skip
    assert found == [], "publish through services.shared.kafka.ProducerPublisher"


def test_the_one_place_is_where_the_producer_is_found() -> None:
    assert any("_producer" in line for line in _calls_and_private_reads(THE_ONE_PLACE))


async def test_without_a_running_producer_it_publishes_through_faststream() -> None:
    broker = KafkaSettings().broker(client_id="test")
    publisher = ProducerPublisher(broker, "t.out")
    received: list[tuple[bytes, bytes | None, dict[str, str]]] = []

    @broker.subscriber("t.out")
    async def on_record(message: KafkaMessage) -> None:
        received.append((message.body, message.raw_message.key, dict(message.headers)))  # type: ignore[union-attr]

    async with TestKafkaBroker(broker):
        assert publisher.topic == "t.out"
        await publisher.publish(b"{}", key=b"k", headers={"h": "v"})
        queued = await publisher.publish(b"[]", key=b"k2", no_confirm=True)
        if isinstance(queued, asyncio.Future):
            await queued
    assert [(body, key) for body, key, _ in received] == [(b"{}", b"k"), (b"[]", b"k2")]
    assert received[0][2]["h"] == "v"
