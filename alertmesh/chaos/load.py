"""The load generator: publishes the planned messages at a steady rate, to Kafka (acks=all) and, for a share of
them, through the webhook bridge; retries until each is accepted, and records when it was."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from alertmesh.chaos.payloads import Message
from alertmesh.stack.mesh import DEMO_KEY_FILE_NAME
from services.shared.kafka import KafkaSettings

log = logging.getLogger("alertmesh.chaos")

Via = Literal["kafka", "webhook"]
Outcome = Literal["accepted", "retry", "rejected"]
RETRY_DELAY_S = 0.5


@dataclass
class Sent:
    """One message and how its publishing went. ``accepted_at`` is None if it never was (run stopped first)."""

    message: Message
    via: Via
    accepted_at: float | None = None
    tries: int = 0
    #: Webhook answers 503 while Kafka was unavailable, and how many of those carried a Retry-After header.
    unavailable: int = 0
    retry_after: int = 0
    errors: list[str] = field(default_factory=list)
    #: HTTP status of a final refusal (4xx other than 429): the message was not retried.
    rejected: int | None = None


def webhook_headers(state_dir: Path) -> dict[str, str]:
    """Headers for the webhook bridge: the demo key ``alertmesh up`` keeps in the state directory, as a bearer
    token, when one is there."""
    key_file = state_dir / DEMO_KEY_FILE_NAME
    headers = {"content-type": "application/json"}
    if key_file.exists():
        headers["authorization"] = f"Bearer {key_file.read_text().strip()}"
    return headers


class LoadGenerator:
    """Publishes every message once it is due (``rate`` per second overall), in order within each lane."""

    def __init__(
        self,
        messages: Sequence[Message],
        rate: float,
        kafka: KafkaSettings,
        raw_topic: str,
        webhook_url: str,
        webhook_headers: dict[str, str],
        webhook_every: int = 0,
    ) -> None:
        """``webhook_every``: send every n-th message through the webhook (0: none)."""
        self.sent = [
            Sent(m, "webhook" if webhook_every and i % webhook_every == 0 else "kafka") for i, m in enumerate(messages)
        ]
        self._rate = rate
        self._kafka = kafka
        self._raw_topic = raw_topic
        self._webhook = f"{webhook_url}/v1/alerts/alertmanager"
        self._headers = webhook_headers
        self.started_at = 0.0

    def accepted(self) -> int:
        """How many messages were accepted so far (by Kafka or the webhook bridge)."""
        return sum(1 for s in self.sent if s.accepted_at is not None)

    async def run(self) -> None:
        """Publish everything; returns when every message was accepted."""
        self.started_at = time.monotonic()
        producer = AIOKafkaProducer(**self._kafka.client_kwargs(), acks="all")
        await producer.start()
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                lanes = [(i, s) for i, s in enumerate(self.sent)]
                await asyncio.gather(
                    self._lane([x for x in lanes if x[1].via == "kafka"], lambda s: self._to_kafka(producer, s)),
                    self._lane([x for x in lanes if x[1].via == "webhook"], lambda s: self._to_webhook(http, s)),
                )
        finally:
            await producer.stop()

    async def _lane(self, items: list[tuple[int, Sent]], send: Callable[[Sent], Awaitable[Outcome]]) -> None:
        for position, sent in items:
            due = self.started_at + position / self._rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            while True:
                sent.tries += 1
                outcome = await send(sent)
                if outcome == "accepted":
                    sent.accepted_at = time.monotonic()
                if outcome != "retry":
                    break

    async def _to_kafka(self, producer: AIOKafkaProducer, sent: Sent) -> Outcome:
        headers = [("content-type", b"application/json")]
        try:
            await producer.send_and_wait(self._raw_topic, sent.message.payload, headers=headers)
            return "accepted"
        except KafkaError as error:
            sent.errors.append(repr(error))
            await asyncio.sleep(RETRY_DELAY_S)
            return "retry"

    async def _to_webhook(self, http: httpx.AsyncClient, sent: Sent) -> Outcome:
        try:
            response = await http.post(self._webhook, content=sent.message.payload, headers=self._headers)
        except httpx.HTTPError as error:
            sent.errors.append(repr(error))
            await asyncio.sleep(RETRY_DELAY_S)
            return "retry"
        if response.status_code == 202:
            return "accepted"
        sent.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
        if 400 <= response.status_code < 500 and response.status_code != 429:
            sent.rejected = response.status_code
            return "rejected"
        delay = RETRY_DELAY_S
        if response.status_code == 503:
            sent.unavailable += 1
            if retry_after := response.headers.get("retry-after"):
                sent.retry_after += 1
                delay = float(retry_after) if retry_after.isdigit() else RETRY_DELAY_S
        await asyncio.sleep(delay)
        return "retry"
