"""Noise control over fakes, for its unit and fuzz tests: a state log that refuses what Kafka's producer would, and
publishers that enforce the record size limit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka.errors import MessageSizeTooLargeError

from schemas import DeadLetter, WorkflowTrigger
from services.ingest.emitter import Emitter
from services.ingest.noise.control import NoiseControl
from services.ingest.noise.muting import Muting
from services.ingest.noise.state_log import Entry, StateLog
from services.ingest.pipeline import EVENT_SOURCE, Outcome, process
from services.ingest.routing import RoutingTable
from services.shared.alert_table import AlertTable
from services.shared.backoff import Backoff
from services.shared.consuming import DeadLetters
from services.shared.deadletter import ConsumedRecord
from services.shared.silences import Silences
from tests.shared.fakes import SizeLimitedPublisher

MIB = 1_048_576
BACKOFF = Backoff(initial_s=0.001, max_s=0.001, budget_s=0.05)


class FakeState:
    """The state log's contract without Kafka: entries over ``max_bytes`` (as the producer measures them), or any
    ``refuse`` picks, are refused for good and returned; the others are kept, the latest per key."""

    raw_topic = "alerts.raw"

    def __init__(self, max_bytes: int = MIB, refuse: Callable[[Entry], bool] = lambda entry: False) -> None:
        self.max_bytes, self.refuse = max_bytes, refuse
        self.latest: dict[bytes, Entry] = {}
        self.writes: list[Entry] = []
        self.refusals = 0

    def key(self, partition: int, *parts: Any) -> list[Any]:
        return [self.raw_topic, partition, *parts]

    async def write(self, entries: list[Entry]) -> list[tuple[Entry, BaseException]]:
        refused: list[tuple[Entry, BaseException]] = []
        for entry in entries:
            size = StateLog.entry_size(entry)
            if size > self.max_bytes or self.refuse(entry):
                self.refusals += 1
                refused.append((entry, MessageSizeTooLargeError(f"The message is {size} bytes when serialized")))
                continue
            self.writes.append(entry)
            self.latest[orjson.dumps(entry.key)] = entry
        return refused

    async def read(self, partition: int) -> dict[tuple[Any, ...], dict[str, Any]]:
        return {}

    async def close(self) -> None:
        return None

    def tombstoned(self) -> list[list[Any]]:
        return [entry.key for entry in self.writes if entry.value is None]


class Mesh:
    """NoiseControl over fakes: triggers and dead letters as published, the state as written."""

    def __init__(self, routing: str | RoutingTable, *, window_s: float = 0, limit: int = MIB, **bounds: Any) -> None:
        self.routing = (
            routing if isinstance(routing, RoutingTable) else RoutingTable.model_validate(orjson.loads(routing))
        )
        self.triggers, self.dlq = SizeLimitedPublisher(limit), SizeLimitedPublisher(limit)
        self.state = FakeState(limit, bounds.pop("refuse", lambda entry: False))
        self.limit = limit
        dead_letters = DeadLetters(self.dlq, source=EVENT_SOURCE, max_bytes=limit, backoff=BACKOFF)
        self.silences = Silences.in_memory()
        self.alerts = AlertTable.in_memory(on_change=lambda key, row: muting.alert_changed(key, row))
        muting = Muting(self.silences, self.alerts, lambda: self.routing)
        self.noise = NoiseControl(
            emitter=Emitter(self.triggers, dead_letters, BACKOFF), triggers=self.triggers, dead_letters=dead_letters,
            state=self.state,  # type: ignore[arg-type]
            routing=lambda: self.routing, window_s=window_s, max_alerts=100, max_bytes=limit, backoff=BACKOFF,
            tick_s=60, muting=muting, **bounds,
        )  # fmt: skip
        self.offset = 0

    def record(self, *alerts: dict[str, Any], source: str | None = None, at: datetime | None = None) -> ConsumedRecord:
        """A raw Alertmanager record of ``alerts`` (``source`` in the source header), at ``at`` (now)."""
        self.offset += 1
        headers = {"alertmesh-source": source} if source else {}
        body = orjson.dumps({"version": "4", "status": "firing", "alerts": list(alerts)})
        return ConsumedRecord(body, headers, "alerts.raw", at or datetime.now(UTC), 0, self.offset)

    async def send(self, *records: ConsumedRecord) -> list[tuple[ConsumedRecord, Outcome]]:
        batch = [(record, process(record, self.routing, self.limit)) for record in records]
        return list(await self.noise.emit_batch(batch))

    def letters(self) -> list[DeadLetter]:
        return [DeadLetter.from_json(body) for body, _, _ in self.dlq.sent]

    def sent(self) -> list[WorkflowTrigger]:
        return [WorkflowTrigger.from_json(body) for body, _, _ in self.triggers.sent]
