"""Publish one structured CloudEvent to alerts.raw with aiokafka (acks=all, keyed by source)."""

import asyncio
import json

from aiokafka import AIOKafkaProducer

ALERT = {
    "specversion": "1.0",
    "type": "com.example.siem.alert",
    "source": "/siem/eu-1",
    "id": "evt-0001",
    "time": "2026-11-28T08:15:02Z",
    "data": {"title": "Impossible travel", "severity": "high", "user": "alice"},
}


async def main() -> None:
    # Leave idempotence off against the embedded broker, which does not support it.
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9092", acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            "alerts.raw",
            json.dumps(ALERT).encode(),
            key=b"siem-eu-1",
            headers=[("content-type", b"application/json"), ("alertmesh-source", b"siem")],
        )
    finally:
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main())
