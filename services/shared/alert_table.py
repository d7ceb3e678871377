"""The alerts table: every alert as ingest last saw it (``schemas.alert_state.AlertState``), read whole from the
compacted alerts topic (a ``GlobalTable``) and followed. Ingest writes a row for every alert it reads and asks
``firing`` which alerts can inhibit; the webhook's Alertmanager API lists the rows (``GET /api/v2/alerts``).

A row resolved (or whose ``ends_at`` passed) more than ``resolved_retention_s`` ago is forgotten: the decode drops
it on a rebuild and ``rows`` stops showing it, so the table holds what fires plus a short tail of what stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from schemas.alert_state import AlertState, table_key
from services.shared.backoff import Backoff
from services.shared.kafka import KafkaSettings
from services.shared.memory_table import MemoryTable
from services.shared.tables import GlobalTable

#: How long a resolved alert stays in the table (and in ``GET /api/v2/alerts``).
RESOLVED_RETENTION_S = 15 * 60.0


class _Table(Protocol):
    @property
    def ready(self) -> bool: ...
    def rows(self) -> Iterable[tuple[bytes, AlertState]]: ...
    async def start(self, wait_s: float = ...) -> None: ...
    async def stop(self) -> None: ...
    async def put_many(self, rows: Sequence[tuple[bytes, bytes | None]]) -> list[bytes]: ...


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def ended_at(row: AlertState) -> datetime:
    """When the alert stops (or stopped) firing: its ``ends_at``, else the row's ``updated_at`` for a resolved one,
    ``AlertState.fires_until`` for a firing one (a row not seen again is forgotten after it, however it came)."""
    if row.status == "resolved":
        return _utc(row.ends_at or row.updated_at)
    return _utc(row.fires_until)


class AlertTable:
    """The alerts as last seen, keyed by ``table_key(source, fingerprint)``."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        *,
        resolved_retention_s: float = RESOLVED_RETENTION_S,
        partitions: int = 1,
        backoff: Backoff | None = None,
        on_change: Callable[[bytes, AlertState | None], None] | None = None,
    ) -> None:
        """The table over the compacted ``topic``; nothing is read until ``start``. ``on_change(key, row)`` is
        called for every change this replica applies (a forgotten row is None)."""
        self._retention = timedelta(seconds=resolved_retention_s)
        self._table: _Table = GlobalTable(
            kafka, topic, self._decode, partitions=partitions, backoff=backoff, on_change=on_change
        )

    @classmethod
    def in_memory(
        cls,
        rows: Iterable[AlertState] = (),
        *,
        resolved_retention_s: float = RESOLVED_RETENTION_S,
        on_change: Callable[[bytes, AlertState | None], None] | None = None,
    ) -> AlertTable:
        """A table without Kafka holding ``rows`` (``put_many`` works, in this process only): tests and previews."""
        table = cls.__new__(cls)
        table._retention = timedelta(seconds=resolved_retention_s)
        memory: MemoryTable[AlertState] = MemoryTable(table._decode, on_change)
        for row in rows:
            memory._rows[table_key(row.source, row.fingerprint)] = row
        table._table = memory
        return table

    def _decode(self, key: bytes, value: bytes) -> AlertState | None:
        row = AlertState.model_validate_json(value)
        return None if self._forgotten(row, datetime.now(UTC)) else row

    def _forgotten(self, row: AlertState, now: datetime) -> bool:
        return ended_at(row) + self._retention < now

    async def start(self, wait_s: float = 30.0) -> None:
        """Read the topic to its end (at most ``wait_s``; creating it when missing), then follow it."""
        await self._table.start(wait_s)

    async def stop(self) -> None:
        """Stop following the topic."""
        await self._table.stop()

    @property
    def ready(self) -> bool:
        """Whether the topic was read to its end once."""
        return self._table.ready

    async def put_many(self, rows: Sequence[AlertState]) -> None:
        """Write every row (one round trip; acks=all), then apply them here."""
        await self._table.put_many(
            [(table_key(row.source, row.fingerprint), row.model_dump_json().encode()) for row in rows]
        )

    def rows(self) -> list[AlertState]:
        """Every row within the retention."""
        now = datetime.now(UTC)
        return [row for _, row in self._table.rows() if not self._forgotten(row, now)]

    def firing(self, at: datetime) -> list[AlertState]:
        """The rows firing at ``at`` (not resolved, ``ends_at`` not passed)."""
        at = _utc(at)
        return [row for _, row in self._table.rows() if row.firing_at(at)]
