"""Tails the results and dead-letter topics for the whole run, keeping what arrived and when."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from schemas import WorkflowResult
from schemas.deadletter import DeadLetter
from services.shared.kafka import KafkaSettings

log = logging.getLogger("alertmesh.chaos")


@dataclass(frozen=True)
class SeenResult:
    """A workflow result read from the results topic, and when it arrived (``time.monotonic``)."""

    event_id: str
    workflow_id: str
    status: str
    #: Attempts Temporal recorded per action ref (ActionReport.attempts).
    attempts: dict[str, int]
    at: float


@dataclass(frozen=True)
class SeenDeadLetter:
    """A dead letter read from the dead-letter topic with the original bytes, and when it arrived
    (``time.monotonic``)."""

    event_id: str
    stage: str
    reason: str
    original: bytes
    at: float


@dataclass
class Observer:
    """Reads both topics from the beginning (no consumer group) until stopped. Survives broker restarts: the
    consumer starts over at the earliest offset of whatever the broker has."""

    kafka: KafkaSettings
    results_topic: str
    dlq_topic: str
    results: list[SeenResult] = field(default_factory=list)
    dead_letters: list[SeenDeadLetter] = field(default_factory=list)
    undecodable: int = 0
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start reading in the background (on the running event loop); ``stop`` ends it."""
        self._task = asyncio.create_task(self._run(), name="chaos-observer")

    async def stop(self) -> None:
        """Stop reading; what was read so far is kept. Does nothing if it was never started."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def restart(self) -> None:
        """Read the topics anew from their beginning: after a broker restart emptied them, the old read position
        could lie inside the new topics' first messages and skip them."""
        await self.stop()
        self.start()

    def last_result_at(self) -> float | None:
        """When the latest result arrived (``time.monotonic``), or None before the first."""
        return self.results[-1].at if self.results else None

    def results_since(self, moment: float) -> int:
        """How many results arrived at or after ``moment`` (``time.monotonic``)."""
        return sum(1 for result in self.results if result.at >= moment)

    async def _run(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(
                self.results_topic,
                self.dlq_topic,
                **self.kafka.client_kwargs(),
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=self.kafka.fetch_max_wait_ms,
            )
            try:
                await consumer.start()
                while True:
                    batches = await consumer.getmany(timeout_ms=500)
                    for records in batches.values():
                        for record in records:
                            self._keep(record.topic, record.value)
            except KafkaError as error:
                log.debug("observer reconnecting after %r", error)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    def _keep(self, topic: str, value: bytes | None) -> None:
        now = time.monotonic()
        try:
            if topic == self.results_topic:
                result = WorkflowResult.from_json(value or b"")
                attempts = {report.ref: report.attempts for report in result.data.actions}
                self.results.append(SeenResult(result.id, result.data.workflow_id, result.data.status, attempts, now))
            else:
                letter = DeadLetter.from_json(value or b"")
                data = letter.data
                self.dead_letters.append(SeenDeadLetter(letter.id, data.stage, data.reason, data.original, now))
        except ValueError:
            self.undecodable += 1
