"""``alertmesh publish FILE``: publish a payload file to a topic (acks=all), as a producer of raw alerts would."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

NAME = "publish"
HELP = "publish a payload file to a topic (acks=all)"
NEEDS_SETUP = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path)
    parser.add_argument("--topic", help="default: the raw alerts topic (alerts.raw)")
    parser.add_argument("--key", help="message key")
    parser.add_argument("--source", help="sets the alertmesh-source header, as the webhook bridge does")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(publish(args.file.read_bytes(), args.topic, args.key, args.source))


async def publish(payload: bytes, topic: str | None, key: str | None, source: str | None) -> int:
    """Write ``payload`` to ``topic`` (default: the raw alerts topic) and say where it landed; 0."""
    from alertmesh import kafka_tools
    from services.shared.kafka import KafkaSettings
    from services.shared.topics import TopicSettings

    topic = topic or TopicSettings().raw
    headers = {"content-type": "application/json"} | ({"alertmesh-source": source} if source else {})
    meta = await kafka_tools.publish(KafkaSettings(), topic, payload, key.encode() if key else None, headers)
    print(f"published to {meta.topic}[{meta.partition}] at offset {meta.offset}")
    return 0
